"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live_server.

Each module is marked ``browser`` (``pytestmark``): without /usr/bin/chromium it is skipped
(tests/conftest.py), and with DOUDI_REQUIRE_BROWSER=1 (CI) that skip is an error instead. The
browser gets no network beyond the live server: background networking, component updates and
first-run tasks are off.
Each main page is kept as a screenshot in artifacts/screenshots/ (gitignored) for review.
"""

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM
from tests.web.conftest import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": DESKTOP,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
    }


@pytest.fixture(scope="session", autouse=True)
def sync_playwright_beside_django():
    # The sync Playwright API keeps an event loop running in the tests' thread from its first
    # use to the end of the session; Django then refuses every ORM call from that thread (the
    # database set-up and flush, arranging data, checking outcomes) unless told it is safe: it
    # is, the loop only drives the browser. Set for the browser tests' session only.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def site(live_server) -> str:
    return live_server.url


@pytest.fixture
def page(page):
    """The page, failing the test on a script error or on an asset (script, stylesheet, image,
    font) that does not load. A page answering 403 or 404 is for the test to check."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def asset_failed(response):
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    page.on("response", asset_failed)
    page.set_default_timeout(10_000)
    yield page
    assert not errors, errors


def shoot(page, name: str) -> Path:
    """Keep a full-page screenshot of what the user sees now, for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def sign_in(page, site: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{site}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.locator("main").get_by_role("button", name="登录").click()

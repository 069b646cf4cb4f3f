"""/api/ lists the API's roots; /api/docs/ and /api/redoc/ work without internet: every file they
load is served by the app (drf-spectacular-sidecar), and their policy forbids any other host."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders

from beneficiaries.api.urls import router as registry_router
from casework.api.urls import router as casework_router
from payments.api.urls import router as payments_router
from rules.api.urls import router as rules_router


class References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


@pytest.fixture
def reader(regions, make_user):
    return make_user("auditor", regions["zhenjiang"])


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize(
    ("page", "files"),
    [
        (
            "/api/docs/",
            {
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
                "drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
            },
        ),
        ("/api/redoc/", {"drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"}),
    ],
)
def test_the_docs_pages_load_only_files_the_app_serves(client, reader, page, files):
    client.force_login(reader)
    response = client.get(page)
    assert response.status_code == 200
    urls = references(response.content.decode())
    assert urls, "the page references nothing"
    for url in urls:
        assert url.startswith("/"), url  # no scheme, no host, no //cdn
        assert not url.startswith("//"), url
    static = {url.removeprefix("/static/") for url in urls if url.startswith("/static/")}
    assert static == files
    for path in static:
        assert finders.find(path), f"{path} is not installed"
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert "http" not in policy
    assert directives["script-src"] == "'self'"  # Swagger UI and Redoc run from the app's files
    for url in urls:
        if not url.startswith("/static/"):
            assert client.get(url).status_code == 200, url


def test_the_swagger_ui_script_names_no_outside_host(client, reader):
    client.force_login(reader)
    script = client.get("/api/docs/?script=").content.decode()
    assert "SwaggerUIBundle" in script
    assert not re.search(r"https?://", script)
    assert '"validatorUrl": null' in script


def test_the_api_root_lists_every_routers_prefixes(client, db):
    response = client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    roots = response.json()
    prefixes = {
        prefix
        for router in (registry_router, rules_router, casework_router, payments_router)
        for prefix, _viewset, _basename in router.registry
    }
    assert {"households", "members", "referrals", "adjustments", "batches", "standards"} <= prefixes
    assert set(roots) == prefixes
    for prefix, url in roots.items():
        assert url == f"http://testserver/api/{prefix}/"


def test_every_root_the_api_lists_answers(client, regions, make_user):
    """Each root answers 200 to a role the access rule lets read it (the administrator reads
    all but the read log, which is the auditors')."""
    admin = make_user("admin", regions["jiangsu"], is_superuser=True)
    auditor = make_user("auditor", regions["jiangsu"])
    client.force_login(admin)
    for prefix, url in client.get("/api/", HTTP_ACCEPT="application/json").json().items():
        client.force_login(auditor if prefix == "read-log" else admin)
        assert client.get(url).status_code == 200, prefix

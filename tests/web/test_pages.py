"""Pages are ready for a strict Content-Security-Policy, and every asset they name is shipped."""

import hashlib
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.web.conftest import Workday

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "web" / "vendor"
ASSETS = Path(__file__).resolve().parents[2] / "web" / "assets"


def pages(workday: Workday) -> dict[str, str]:
    shown = {"sign-in": Client().get("/").content.decode()}
    for role in ("caseworker", "grid", "approver", "finance", "auditor", "admin"):
        client = Client()
        client.force_login(workday.users[role])
        shown[role] = client.get("/home/").content.decode()
    client = Client()
    client.force_login(workday.users["caseworker"])
    apps = workday.applications
    for name, url in (
        ("applications", "/casework/applications/"),
        ("application-start", "/casework/applications/new/"),
        ("application-notice", f"/casework/applications/{apps['public_notice'].pk}/"),
        ("application-visit", f"/casework/applications/{apps['home_visit'].pk}/"),
        ("flags", "/casework/flags/"),
        ("relief", "/casework/relief/"),
        ("relief-new", "/casework/relief/new/"),
        ("deadlines", "/casework/deadlines/"),
        ("reviews-due", "/casework/reviews-due/"),
    ):
        shown[name] = client.get(url).content.decode()
    shown["403"] = client.get("/admin/").content.decode()
    shown["404"] = client.get("/nothing-here/").content.decode()
    return shown


def test_no_page_has_an_inline_script_handler_or_style(workday: Workday):
    for name, html in pages(workday).items():
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script or 'type="application/json"' in script, (name, script)
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert not re.search(r"\sstyle\s*=", html), name
        assert "<style" not in html, name
        assert "javascript:" not in html, name


def test_every_asset_a_page_names_is_served_from_the_app(workday: Workday):
    for name, html in pages(workday).items():
        for url in re.findall(r'(?:src|href|data-echarts-src)="(/static/[^"]+)"', html):
            assert finders.find(url.removeprefix("/static/")), (name, url)
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), name


def test_the_vendored_files_are_the_ones_recorded():
    sums = {}
    for line in (VENDOR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name.removeprefix("./")] = digest
    shipped = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert shipped - {"SHA256SUMS"} == set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("package", ["bootstrap", "htmx.org", "echarts", "@popperjs/core"])
def test_each_pinned_package_is_recorded_in_vendor_md_at_its_version(package):
    pins = json.loads((ASSETS / "package.json").read_text())["dependencies"]
    version = pins[package]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin exact versions"
    assert f"| `{package}` | {version} |" in (ASSETS / "VENDOR.md").read_text()
    shipped = (VENDOR / {"bootstrap": "bootstrap.bundle.min.js", "htmx.org": "htmx.min.js",
                         "echarts": "echarts.common.min.js", "@popperjs/core":
                         "bootstrap.bundle.min.js"}[package]).read_text()  # fmt: skip
    if package != "@popperjs/core":  # Popper's version is not written in Bootstrap's bundle
        assert version in shipped

"""What each user does first: sign in, read the home worklist, switch language, sign out."""

import re

import pytest
from playwright.sync_api import expect

from tests.web.browser.conftest import PHONE, shoot, sign_in
from tests.web.conftest import Workday

pytestmark = pytest.mark.browser


def count_of(page, label: str):
    """The number shown beside a worklist label."""
    return page.locator(".counts .list-group-item").filter(has_text=label).locator(".count")


# role, the heading of its home, one of its counts and the number the day's work gives it
HOMES = (
    ("caseworker", "乡镇经办工作台", "已超期的办理环节", "1"),
    ("approver", "县级审批工作台", "待审批的救助申请", "2"),
    ("finance", "财务工作台", "您制单、待他人审批", "1"),
    ("auditor", "审计工作台", "停发", "1"),
    ("admin", "系统管理工作台", "乡镇经办人", "2"),
)


def test_each_role_signs_in_to_its_own_worklist(page, site, workday: Workday):
    for role, title, label, number in HOMES:
        sign_in(page, site, workday.users[role].username)
        expect(page).to_have_url(f"{site}/home/")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(count_of(page, label)).to_have_text(number)
        if role == "auditor":
            # The chart is drawn by ECharts, loaded on demand from the app's own static files.
            expect(page.locator("[data-chart] svg")).to_be_visible()
        shoot(page, f"home-{role}")
        page.get_by_role("button", name="退出").click()
        expect(page.get_by_role("alert")).to_contain_text("您已安全退出")


def test_the_caseworker_follows_an_overdue_count_to_its_list(page, site, workday: Workday):
    sign_in(page, site, "zhang-cw")
    count_of(page, "已超期的办理环节").click()
    expect(page).to_have_url(f"{site}/casework/deadlines/")
    expect(page.get_by_role("heading", level=1)).to_have_text("已超期的办理环节")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.get_by_role("cell", name="周home_visit")).to_be_visible()
    shoot(page, "deadlines-overdue")


def test_the_caseworker_follows_the_weeks_deadlines_to_their_list(page, site, workday: Workday):
    sign_in(page, site, "zhang-cw")
    count_of(page, "本周内到期的办理环节").click()
    expect(page).to_have_url(f"{site}/casework/deadlines/this-week/")
    expect(page.get_by_role("heading", level=1)).to_have_text("本周内到期的办理环节")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.get_by_role("cell", name="周economic_check")).to_be_visible()
    shoot(page, "deadlines-this-week")


def test_a_wrong_password_is_told_in_chinese(page, site, staff):
    sign_in(page, site, "zhang-cw", password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(f"{site}/")
    shoot(page, "sign-in-wrong-password")


def test_switching_to_english_and_back(page, site, staff):
    sign_in(page, site, "zhang-cw")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Township caseworker's workbench")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shoot(page, "home-caseworker-english")
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("乡镇经办工作台")
    expect(page).to_have_url(f"{site}/home/")


def test_the_admin_refuses_a_caseworker(page, site, staff):
    sign_in(page, site, "zhang-cw")
    expect(page.get_by_role("link", name="系统管理")).to_have_count(0)
    response = page.goto(f"{site}/admin/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("您没有使用此页面的权限。")
    expect(page.get_by_text("系统管理仅供管理员使用。")).to_be_visible()
    shoot(page, "admin-refused")


def test_signing_out_returns_to_the_sign_in_page(page, site, staff):
    sign_in(page, site, "zhang-cw")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("alert")).to_contain_text("您已安全退出")
    page.goto(f"{site}/home/")
    expect(page).to_have_url(f"{site}/?next=/home/")


def test_the_grid_workers_home_fits_a_phone(page, site, workday: Workday):
    page.set_viewport_size(PHONE)
    sign_in(page, site, "wang-grid")
    expect(page.get_by_role("heading", level=1)).to_have_text("网格员工作台")
    expect(count_of(page, "已纳入保障")).to_have_text("1")
    expect(page.get_by_role("cell", name="郑六")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "home-grid-phone")
    # The menu folds behind its button on a phone and opens on a tap.
    menu = page.get_by_role("button", name="菜单")
    expect(page.get_by_role("button", name="退出")).to_be_hidden()
    menu.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))  # opened fully
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "home-grid-phone-menu")


def test_the_sign_in_page_fits_a_phone(page, site, staff):
    page.set_viewport_size(PHONE)
    page.goto(f"{site}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "sign-in-phone")

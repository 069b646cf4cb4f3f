"""The township caseworker's registry in the browser: register a household of three (one ID
mistyped and corrected on the page), find it, open its page; another township's caseworker
gets a 404 for it."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from beneficiaries.models import Household, Member
from beneficiaries.services import MemberEntry, register_household_with_members
from casework.services import enrolments
from core.idnumbers import make_resident_id
from core.months import add_months, first_of_month
from payments.batches import compute_batch, create_batch
from rules.parameters import load_standards
from tests.web.browser.conftest import DESKTOP, PHONE, shoot, sign_in

pytestmark = pytest.mark.browser

HEAD_ID = make_resident_id("321102", datetime.date(1955, 1, 1), 7, "M")
WIFE_ID = make_resident_id("321102", datetime.date(1958, 3, 9), 8, "F")
CHILD_ID = make_resident_id("321102", datetime.date(2012, 11, 30), 9, "M")


def mistyped(number: str) -> str:
    """The ID with two neighbouring digits swapped, as a hurried hand types it."""
    swapped = number[:15] + number[16] + number[15] + number[17:]
    assert swapped != number
    return swapped


def shoot_both(page, name: str) -> None:
    """Screenshots at desktop width and at a phone's, which must not scroll sideways."""
    page.set_viewport_size(DESKTOP)
    shoot(page, name)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def fill_member(page, index: int, *, name: str, id_number: str, relation: str) -> None:
    page.locator(f"#id_members-{index}-name").fill(name)
    page.locator(f"#id_members-{index}-id_number").fill(id_number)
    page.locator(f"#id_members-{index}-relation").select_option(label=relation)


def test_a_caseworker_registers_a_household_of_three_correcting_a_mistyped_id(page, site, staff):
    sign_in(page, site, "zhang-cw")
    page.get_by_role("link", name="家庭档案").click()
    page.get_by_role("link", name="登记新家庭").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登记家庭")

    page.get_by_label("村/社区").select_option(label="北府社区")
    page.get_by_label("地址").fill("中山东路12号（西）")
    page.get_by_label("户籍类型").select_option(label="城镇")
    fill_member(page, 0, name="王建国", id_number=HEAD_ID, relation="户主")
    expect(page.locator("#id_members-0-id_number_check")).to_have_text("出生日期 1955-01-01，男")

    page.get_by_role("button", name="添加成员").click()
    fill_member(page, 1, name="李秀英", id_number=mistyped(WIFE_ID), relation="配偶")
    wife_id = page.locator("#id_members-1-id_number")
    expect(page.locator("#id_members-1-id_number_check")).to_contain_text("校验码 (第18位) 不符")
    expect(wife_id).to_have_class(re.compile(r"\bis-invalid\b"))
    shoot(page, "register-mistyped-id")
    wife_id.fill(WIFE_ID)
    expect(page.locator("#id_members-1-id_number_check")).to_have_text("出生日期 1958-03-09，女")
    expect(wife_id).not_to_have_class(re.compile(r"\bis-invalid\b"))

    page.get_by_role("button", name="添加成员").click()
    fill_member(page, 2, name="王小明", id_number=CHILD_ID, relation="孙子女")
    # What was typed into the first two rows is still there after the third was added.
    expect(page.locator("#id_members-1-name")).to_have_value("李秀英")

    page.get_by_role("button", name="添加收入").click()
    page.locator("#id_incomes-0-member").select_option(label="成员2")
    page.locator("#id_incomes-0-type").select_option(label="养老金")
    page.locator("#id_incomes-0-monthly_amount").fill("1234.56")
    page.locator("#id_incomes-0-valid_from").fill("2024-01-01")
    page.get_by_role("button", name="添加资产").click()
    page.locator("#id_assets-0-kind").select_option(label="机动车")
    page.locator("#id_assets-0-value").fill("35000")
    shoot_both(page, "register-household")

    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("已登记家庭")
    expect(page.get_by_role("heading", level=1)).to_have_text("一户一档 · 王建国")
    members = page.get_by_role("region", name="家庭成员")
    for name in ("王建国", "李秀英", "王小明"):
        expect(members.get_by_role("cell", name=name, exact=True)).to_be_visible()
    expect(members.get_by_role("cell", name=WIFE_ID)).to_be_visible()
    expect(
        page.get_by_role("region", name="收入").get_by_role("cell", name="1,234.56")
    ).to_be_visible()
    household = Household.objects.get()
    assert sorted(Member.objects.values_list("id_number", flat=True)) == sorted(
        [HEAD_ID, WIFE_ID, CHILD_ID]
    )
    assert household.head.name == "王建国"
    shoot_both(page, "household-page")


@pytest.fixture
def registered(regions, staff) -> Household:
    """The household of three, on dibao since last month, this month's batch computed."""
    household = register_household_with_members(
        village=regions["village_a1"],
        address="中山东路12号（西）",
        hukou_type="urban",
        by=staff["caseworker"],
        members=[
            MemberEntry(name="王建国", id_number=HEAD_ID, relation="head"),
            MemberEntry(name="李秀英", id_number=WIFE_ID, relation="spouse"),
            MemberEntry(name="王小明", id_number=CHILD_ID, relation="grandchild"),
        ],
    )
    load_standards()
    month = first_of_month(timezone.localdate())
    start = add_months(month, -1)
    cw = staff["caseworker"]
    enrolments.enrol(
        household=household,
        category="dibao",
        start_month=start,
        by=cw,
        approved_by=staff["approver"],
    )
    compute_batch(
        batch=create_batch(region=regions["zhenjiang"], month=month, by=staff["finance"]),
        inline=True,
    )
    return household


# The timeline's registry changes come from pghistory's triggers: PostgreSQL only.
@pytest.mark.postgres
def test_a_caseworker_finds_the_household_by_name_and_by_id_and_opens_it(page, site, registered):
    sign_in(page, site, "zhang-cw")
    page.get_by_role("link", name="家庭档案").click()
    box = page.get_by_label("姓名、身份证号、地址或户号")
    box.fill("李秀")  # live results, no button pressed
    result = page.locator("#results").get_by_role("link", name=str(registered.pk), exact=True)
    expect(result).to_be_visible()

    box.fill(WIFE_ID)
    box.press("Enter")
    expect(page.locator("#results").get_by_role("cell", name="王建国")).to_be_visible()
    assert WIFE_ID not in page.url
    assert "s=" in page.url
    shoot_both(page, "household-search")

    page.locator("#results").get_by_role("link", name=str(registered.pk), exact=True).click()
    expect(page).to_have_url(f"{site}/households/{registered.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("一户一档 · 王建国")
    expect(page.get_by_role("cell", name=WIFE_ID)).to_be_visible()
    enrolment = page.get_by_test_id("enrolment")
    expect(enrolment).to_contain_text("本月金额")
    enrolment.get_by_text("计算说明").click()
    expect(enrolment.locator(".explanation")).to_be_visible()
    # The history of changes comes in as the page loads (htmx).
    expect(page.get_by_test_id("timeline")).to_contain_text("新建家庭成员 李秀英")
    shoot_both(page, "household-page-enrolled")


def test_a_caseworker_of_another_township_gets_a_404_for_the_household(page, site, registered):
    sign_in(page, site, "li-cw")
    response = page.goto(f"{site}/households/{registered.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("没有找到")
    expect(page.get_by_text("王建国")).to_have_count(0)
    shoot_both(page, "household-other-township-404")

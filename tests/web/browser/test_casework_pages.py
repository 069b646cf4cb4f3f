"""The township caseworker's casework pages in Chromium: an application taken from a grid
worker's flag to "sent to approval", and a relief case whose tier shows as its figures are
typed. Each main page is kept as a screenshot, at desktop width and at a phone's."""

import datetime
import struct
import zlib

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from beneficiaries.models import User
from casework.models import Application, CaseState, Referral, ReliefCase
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.browser.conftest import DESKTOP, PHONE, shoot, sign_in
from tests.web.conftest import PASSWORD, Workday

pytestmark = pytest.mark.browser


def png(path) -> None:
    """A one-pixel PNG: the photo of the home visit."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc\x88\x44")
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def shoot_both(page, name: str) -> None:
    """The page at desktop width and at 375 px, where nothing may scroll sideways."""
    shoot(page, name)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    shoot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def move(page, button: str, note_label: str = "", note: str = "") -> None:
    if note_label:
        page.get_by_label(note_label).fill(note)
    page.get_by_role("button", name=button).click()


def test_an_application_from_a_flag_to_sent_to_approval(page, site, workday: Workday, tmp_path):
    flag = Referral.objects.get(name="赵大妈")
    household = HouseholdFactory(village=flag.village, address="北府社区3栋2单元101")
    household.head = MemberFactory(household=household, name="赵大妈")
    household.save()
    photo, scan = tmp_path / "厨房.png", tmp_path / "入户调查表.pdf"
    png(photo)
    scan.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    sign_in(page, site, "zhang-cw")
    page.locator(".counts .list-group-item").filter(has_text="待处理线索").locator("a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("网格员线索")
    shoot_both(page, "casework-flags")
    page.get_by_role("link", name="赵大妈").click()
    expect(page.get_by_label("北府社区3栋2单元101", exact=False)).to_be_checked()
    shoot_both(page, "casework-flag")
    page.get_by_label("申请类别").select_option(label="低保")
    page.get_by_role("button", name="转为申请").click()

    expect(page.get_by_role("alert")).to_contain_text("线索已转为申请")
    expect(page.locator(".badge").first).to_have_text("已申请")
    shoot_both(page, "casework-application-submitted")
    move(page, "受理，开始入户调查", "受理意见", "材料齐全，予以受理。")
    expect(page.locator(".badge").first).to_have_text("入户调查")

    page.get_by_label("入户调查情况").fill("独居，患慢性病，无劳动能力；住房为自有平房，屋顶漏雨。")
    page.get_by_label("照片和扫描件").set_input_files([photo, scan])
    shoot_both(page, "casework-home-visit")
    page.get_by_role("button", name="入户调查完成，转经济状况核对").click()
    expect(page.locator(".badge").first).to_have_text("经济状况核对")
    expect(page.get_by_role("link", name="厨房.png")).to_be_visible()
    expect(page.get_by_role("link", name="入户调查表.pdf")).to_be_visible()

    move(page, "核对完成，提交乡镇审核", "经济状况核对结果", "月收入 320 元，无存款，无车辆。")
    expect(page.locator(".badge").first).to_have_text("乡镇审核")
    shoot_both(page, "casework-township-review")
    move(page, "审核通过，开始公示", "乡镇审核意见", "符合低保条件，同意公示。")
    expect(page.locator(".badge").first).to_have_text("公示")
    application = Application.objects.get(household=household)
    expect(page.locator(".notice-period")).to_contain_text(application.notice_ends.isoformat())

    # Sent too early: the page says when the notice ends, and nothing moves.
    page.get_by_role("button", name="公示期满，报送审批").click()
    expect(page.locator("#move-approval")).to_contain_text("期满后才能报送审批")
    expect(page.locator("#move-approval")).to_contain_text(
        f"公示期至{application.notice_ends.isoformat()}"
    )
    # An objection is recorded during the notice and resolved.
    page.get_by_label("异议人（可不填）").fill("同村村民")
    page.get_by_label("异议内容").fill("其女儿在镇上开店，收入较高。")
    page.get_by_role("button", name="登记异议").click()
    expect(page.get_by_role("alert")).to_contain_text("已登记异议")
    page.get_by_label("核实处理结果").fill("经核实女儿已出嫁另立户，不属共同生活成员。")
    page.get_by_role("button", name="记录处理结果").click()
    expect(page.get_by_text("已核实处理：经核实女儿已出嫁另立户")).to_be_visible()
    shoot_both(page, "casework-public-notice")

    # The seven working days of the notice pass.
    today = timezone.localdate()
    Application.objects.filter(pk=application.pk).update(
        notice_ends_from=today - datetime.timedelta(days=10),
        notice_ends=today - datetime.timedelta(days=1),
        notice_ends_provisional=False,
    )
    page.reload()
    move(page, "公示期满，报送审批", "报送意见", "公示无异议（异议已核实），报县民政局审批。")
    expect(page.get_by_role("alert")).to_contain_text("已转到「审批」")
    expect(page.locator(".badge").first).to_have_text("审批")
    # Approval is the county's: nothing here approves or refuses.
    expect(page.get_by_role("button", name="批准")).to_have_count(0)
    expect(page.get_by_role("button", name="不予批准")).to_have_count(0)
    shoot_both(page, "casework-sent-to-approval")

    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL
    flag.refresh_from_db()
    assert flag.application_id == application.pk
    steps = list(application.steps.values_list("to_state", flat=True))
    assert steps == [
        "submitted",
        "home_visit",
        "economic_check",
        "township_review",
        "public_notice",
        "approval",
    ]
    visit = application.steps.get(to_state="economic_check")
    assert sorted(visit.attachments.values_list("name", flat=True)) == [
        "入户调查表.pdf",
        "厨房.png",
    ]


def test_the_application_list_filtered_by_step(page, site, workday: Workday):
    sign_in(page, site, "zhang-cw")
    page.locator(".counts .list-group-item").filter(has_text="公示").locator("a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("救助申请")
    expect(page.locator("main tbody tr")).to_have_count(1)
    expect(page.get_by_label("环节")).to_have_value("public_notice")
    shoot_both(page, "casework-applications")


def test_a_relief_case_shows_its_tier_as_the_amount_is_typed(page, site, workday: Workday):
    household = HouseholdFactory(village=workday.applications["submitted"].household.village)
    household.head = MemberFactory(household=household, name="钱桂英")
    household.save()
    sign_in(page, site, "zhang-cw")
    page.get_by_role("link", name="临时救助").first.click()
    page.get_by_role("link", name="登记临时救助").click()
    page.get_by_label("家庭编号").fill(str(household.pk))
    page.get_by_label("救助类型").select_option(label="急难型")
    page.get_by_label("事由").select_option(label="意外死亡")
    page.get_by_label("困难情况").fill("户主因交通事故去世，家中无其他收入。")
    page.get_by_label("拟救助金额（元）").fill("1000")
    expect(page.get_by_test_id("tier")).to_have_text("乡镇审批")
    page.get_by_label("拟救助金额（元）").fill("5000")
    expect(page.get_by_test_id("tier")).to_have_text("县级审批")
    shoot_both(page, "casework-relief-county")
    page.get_by_label("拟救助金额（元）").fill("2000")
    expect(page.get_by_test_id("tier")).to_have_text("乡镇审批")
    page.get_by_label("先行救助", exact=False).check()
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("已登记临时救助")
    expect(page.get_by_role("button", name="材料已补齐")).to_be_visible()
    shoot_both(page, "casework-relief-paid-first")


def test_a_case_paid_first_is_approved_by_a_second_caseworker_on_the_page(
    page, site, workday: Workday, regions
):
    household = HouseholdFactory(village=workday.applications["submitted"].household.village)
    household.head = MemberFactory(household=household, name="钱桂英")
    household.save()
    colleague = User.objects.create_user(
        username="zhang-cw2", password=PASSWORD, role="caseworker", region=regions["town_a"]
    )

    sign_in(page, site, "zhang-cw")
    page.goto(f"{site}/casework/relief/new/?household={household.pk}")
    page.get_by_label("救助类型").select_option(label="急难型")
    page.get_by_label("事由").select_option(label="灾害")
    page.get_by_label("困难情况").fill("房屋因暴雨倒塌，无处居住。")
    page.get_by_label("拟救助金额（元）").fill("1500")
    expect(page.get_by_test_id("tier")).to_have_text("乡镇审批")
    page.get_by_label("先行救助", exact=False).check()
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("已登记临时救助")
    expect(page.get_by_text("等待另一名有审批权限的人员审批")).to_be_visible()
    # The proposer's own decision page says why not and offers nothing.
    page.get_by_role("link", name="审批页").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("提出或经办此事项的人不能审批")
    expect(page.get_by_role("button", name="批准先行救助")).to_have_count(0)
    page.get_by_role("button", name="退出").click()

    sign_in(page, site, "zhang-cw2")
    page.locator(".counts .list-group-item").filter(has_text="临时救助").locator("a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("待我审批")
    shoot_both(page, "casework-decisions")
    page.get_by_role("link", name="钱桂英").click()
    shoot_both(page, "casework-relief-decision")
    page.get_by_role("button", name="批准先行救助").click()
    expect(page.get_by_role("alert")).to_contain_text("已审批临时救助")
    expect(page.locator(".badge").first).to_have_text("已批准")
    page.get_by_role("link", name="打开救助案卷").click()
    expect(page.locator(".badge").first).to_have_text("已批准")
    expect(page.get_by_role("button", name="材料已补齐")).to_be_visible()
    shoot_both(page, "casework-relief-approved")

    case = ReliefCase.objects.get(household=household)
    assert (case.status, case.pay_first, case.decided_by) == ("approved", True, colleague)
    assert case.documents_due > timezone.localdate()


def test_the_county_approver_approves_an_application_on_the_page(page, site, workday: Workday):
    application = workday.applications["approval"]
    sign_in(page, site, "chen-approver")
    page.locator(".counts .list-group-item").filter(has_text="待审批的救助申请").locator(
        "a"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("待我审批")
    expect(page.locator("main tbody tr")).to_have_count(2)
    page.get_by_role("link", name="吴五").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("吴五")
    shoot_both(page, "casework-application-decision")
    page.get_by_label("审批意见（不予批准时必填）").fill("符合低保条件，同意纳入保障。")
    page.get_by_role("button", name="批准申请").click()
    expect(page.get_by_role("alert")).to_contain_text("已审批申请")
    expect(page.locator(".badge").first).to_have_text("批准")
    expect(page.get_by_role("button", name="批准申请")).to_have_count(0)

    application.refresh_from_db()
    assert application.state == CaseState.APPROVED
    assert application.enrolment.adjustments.get().approved_by == workday.users["approver"]

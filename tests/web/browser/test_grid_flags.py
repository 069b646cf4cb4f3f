"""A grid worker in the field, on a phone: flag a candidate, the flag survives a dropped
network, and it becomes an application in My flags."""

import datetime
import struct
import zlib

import pytest
from playwright.sync_api import expect

from casework.models import Referral
from casework.services import referrals
from core.idnumbers import make_resident_id
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.browser.conftest import PHONE, shoot, sign_in

pytestmark = pytest.mark.browser


def png(width: int, height: int) -> bytes:
    """A real PNG picture (a grey-blue field), as a phone's camera might send."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes((90, 120, 160)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PHOTO = {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": png(320, 200)}
# A man of 81 of 京口区.
OLD_MAN_ID = make_resident_id("321102", datetime.date(1945, 6, 18), 11, "M")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def fill_the_flag(page, *, name: str, id_number: str) -> None:
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("村/社区").select_option(label="北府社区")
    page.get_by_label("住址").fill("北府路 12 号 3 单元 502 室")
    page.get_by_label("原因").select_option(label="重病")
    page.get_by_label("情况说明").fill("独居，肺癌晚期，无收入")
    page.get_by_label("照片").set_input_files(PHOTO)


def test_a_grid_worker_flags_a_candidate_on_a_phone_and_sees_it_become_an_application(
    page, site, staff, regions
):
    page.set_viewport_size(PHONE)
    sign_in(page, site, "wang-grid")
    page.get_by_role("link", name="上报线索").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("上报线索")
    fill_the_flag(page, name="欧阳建国", id_number=OLD_MAN_ID[:-1] + "0")
    page.get_by_role("button", name="提交").click()
    # A typo in the ID: said beside the field, nothing saved; fixed on the page and sent.
    expect(page.locator("#id_id_number_error")).to_contain_text("校验码")
    assert not Referral.objects.exists()
    assert fits_the_phone(page)
    shoot(page, "grid-flag-form-error-phone")
    page.get_by_label("身份证号").fill(OLD_MAN_ID)
    page.get_by_label("照片").set_input_files(PHOTO)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("alert")).to_contain_text("线索已上报")
    expect(page.get_by_role("heading", level=1)).to_contain_text("欧阳建国")
    expect(page.get_by_role("heading", level=1)).to_contain_text("待处理")
    expect(page.get_by_text("3211**********")).to_be_visible()
    expect(page.locator("img.flag-photo")).to_be_visible()
    assert page.locator("img.flag-photo").evaluate("img => img.complete && img.naturalWidth") == 320
    assert fits_the_phone(page)
    shoot(page, "grid-flag-saved-phone")

    # The township caseworker opens an application from the flag.
    flag = Referral.objects.get()
    household = HouseholdFactory(village=regions["village_a1"])
    MemberFactory(household=household, name="欧阳建国", id_number=OLD_MAN_ID)
    referrals.convert_referral(
        referral=flag, household=household, category="dibao", by=staff["caseworker"]
    )

    page.get_by_role("button", name="菜单").click()
    page.locator("#main-nav").get_by_role("link", name="我上报的线索").click()
    item = page.locator(".flag-list li").filter(has_text="欧阳建国")
    expect(item.locator(".badge")).to_have_text("已转申请")
    assert fits_the_phone(page)
    shoot(page, "grid-my-flags-phone")
    item.get_by_role("link", name="欧阳建国").click()
    expect(page.locator(".flag-timeline")).to_contain_text("已转为救助申请")
    assert fits_the_phone(page)
    shoot(page, "grid-flag-story-phone")


def test_a_flag_sent_again_after_the_network_dropped_is_saved_once(page, site, staff):
    page.set_viewport_size(PHONE)
    sign_in(page, site, "wang-grid")
    page.goto(f"{site}/grid/flags/new/")
    fill_the_flag(page, name="欧阳建国", id_number=OLD_MAN_ID)

    def reach_the_server_then_drop(route):
        route.fetch()  # the server saves the flag, but its answer is lost on the way back
        route.fulfill(status=504, content_type="text/plain", body="Gateway Timeout")

    page.route("**/grid/flags/new/", reach_the_server_then_drop)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("Gateway Timeout")).to_be_visible()
    page.unroute("**/grid/flags/new/")
    assert Referral.objects.count() == 1
    # Back on the form (the phone keeps what it can of it, the form's key included), the
    # worker taps 提交 once more.
    page.go_back()
    page.get_by_label("照片").set_input_files(PHOTO)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("alert")).to_contain_text("该线索已经保存，无需再次提交")
    assert Referral.objects.count() == 1
    shoot(page, "grid-flag-resent-phone")

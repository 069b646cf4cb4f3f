"""The grid worker's pages through Django's client: flag a candidate (sent again without a
duplicate, bad input shown beside its field with nothing saved), my flags, one flag's story."""

import datetime
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from casework.models import Referral
from casework.services import applications, referrals
from core.idnumbers import make_resident_id
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.conftest import Workday

# A tiny JPEG's first bytes are all the service looks at.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00" + b"\x00" * 64
# A woman of 74 of 京口区, her ID as printed on the card.
OLD_WOMAN_ID = make_resident_id("321102", datetime.date(1952, 3, 4), 5, "F")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(regions, **changes) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "name": "欧阳·阿依古丽",
        "id_number": OLD_WOMAN_ID,
        "village": regions["village_a1"].pk,
        "address": "北府路 12 号 3 单元 502 室",
        "reason": "serious_illness",
        "note": "独居，\n肺癌晚期，无收入",
    }
    return data | changes


def field_error(response, name: str) -> str:
    return " ".join(str(e) for e in response.context["form"].errors.get(name, []))


def photos(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


def test_the_form_carries_a_fresh_idempotency_key_each_time_it_is_shown(staff):
    client = signed_in(staff["grid"])
    keys = set()
    for _ in range(2):
        html = client.get("/grid/flags/new/").content.decode()
        keys.add(re.search(r'name="idempotency_key" value="([0-9a-f-]{36})"', html).group(1))
    assert len(keys) == 2


def test_a_grid_worker_flags_a_candidate_with_a_photo(regions, staff, media):
    client = signed_in(staff["grid"])
    photo = SimpleUploadedFile("IMG_20261202_101500.jpg", JPEG, content_type="image/jpeg")
    response = client.post("/grid/flags/new/", form_data(regions, photo=photo))
    flag = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/grid/flags/{flag.pk}/"
    assert (flag.name, flag.id_number, flag.address) == (
        "欧阳·阿依古丽",
        OLD_WOMAN_ID,
        "北府路 12 号 3 单元 502 室",
    )
    assert flag.flagged_by == staff["grid"] and flag.photo.name.endswith(".jpg")
    page = client.get(response["Location"]).content.decode()
    assert "线索已上报" in page
    assert OLD_WOMAN_ID not in page and "3211**********" in page  # masked for a grid worker
    shown = client.get(f"/grid/flags/{flag.pk}/photo/")
    assert shown.status_code == 200 and b"".join(shown.streaming_content) == JPEG


def test_sending_the_same_form_again_makes_no_second_flag(regions, staff, media):
    client = signed_in(staff["grid"])
    data = form_data(regions)
    first = client.post("/grid/flags/new/", data | {"photo": SimpleUploadedFile("a.jpg", JPEG)})
    again = client.post("/grid/flags/new/", data | {"photo": SimpleUploadedFile("a.jpg", JPEG)})
    assert Referral.objects.count() == 1
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert "该线索已经保存，无需再次提交" in client.get(again["Location"]).content.decode()
    assert len(photos(media)) == 1


def test_a_resent_form_is_answered_with_the_first_flag_even_when_changed(regions, staff):
    client = signed_in(staff["grid"])
    data = form_data(regions)
    client.post("/grid/flags/new/", data)
    client.post("/grid/flags/new/", data | {"name": "欧阳阿依古丽", "reason": "lost_job"})
    flag = Referral.objects.get()
    assert (flag.name, flag.reason) == ("欧阳·阿依古丽", "serious_illness")


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def test_a_resent_form_that_lost_some_fields_still_finds_the_saved_flag(regions, staff):
    client = signed_in(staff["grid"])
    data = form_data(regions)
    client.post("/grid/flags/new/", data)
    again = client.post("/grid/flags/new/", data | {"name": "", "id_number": ""})
    assert again.status_code == 302
    assert again["Location"] == f"/grid/flags/{Referral.objects.get().pk}/"


@pytest.mark.parametrize(
    "id_number, message",
    [
        (_wrong_check_digit(OLD_WOMAN_ID), "校验码"),
        (OLD_WOMAN_ID[:-1], "须为18位 (现为17位)"),
        (OLD_WOMAN_ID[:6] + "19520230" + OLD_WOMAN_ID[14:], "19520230"),
    ],
)
def test_a_wrong_id_number_is_shown_beside_its_field_and_nothing_is_saved(
    regions, staff, media, id_number, message
):
    client = signed_in(staff["grid"])
    photo = SimpleUploadedFile("a.jpg", JPEG)
    response = client.post("/grid/flags/new/", form_data(regions, id_number=id_number, photo=photo))
    assert response.status_code == 400
    assert message in field_error(response, "id_number")
    html = response.content.decode()
    assert 'id="id_id_number_error"' in html and 'aria-invalid="true"' in html
    assert "请重新选择照片" in field_error(response, "photo")
    assert not Referral.objects.exists() and not photos(media)


def test_a_file_that_is_not_a_photo_is_refused_beside_its_field(regions, staff, media):
    client = signed_in(staff["grid"])
    page = SimpleUploadedFile("photo.jpg", b"<html><script>alert(1)</script>", "image/jpeg")
    response = client.post("/grid/flags/new/", form_data(regions, photo=page))
    assert response.status_code == 400
    assert "JPG、PNG、WebP或HEIC" in field_error(response, "photo")
    assert not Referral.objects.exists() and not photos(media)


def test_a_photo_over_the_upload_limit_is_refused_beside_its_field(regions, staff, media, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    client = signed_in(staff["grid"])
    big = SimpleUploadedFile("big.jpg", JPEG + b"\x00" * 2048)
    response = client.post("/grid/flags/new/", form_data(regions, photo=big))
    assert response.status_code == 400
    assert "照片过大" in field_error(response, "photo")
    assert not Referral.objects.exists() and not photos(media)


def test_missing_name_and_a_village_outside_the_area_are_shown_beside_their_fields(regions, staff):
    client = signed_in(staff["grid"])
    response = client.post(
        "/grid/flags/new/", form_data(regions, name="", village=regions["village_b1"].pk)
    )
    assert response.status_code == 400
    assert field_error(response, "name") and field_error(response, "village")
    assert not Referral.objects.exists()


def test_a_person_with_a_case_in_another_township_is_not_described(regions, staff):
    # 健康路街道's caseworker has an open application for her; 正东路街道's grid worker flags her.
    household = HouseholdFactory(village=regions["village_b1"], address="花山湾 8 号")
    MemberFactory(household=household, name="欧阳·阿依古丽", id_number=OLD_WOMAN_ID)
    application = applications.submit_application(
        household=household, category="dibao", by=staff["caseworker_b"]
    )
    client = signed_in(staff["grid"])
    response = client.post("/grid/flags/new/", form_data(regions))
    assert response.status_code == 400
    html = response.content.decode()
    assert "此人已在其他地区登记，请联系该地区民政部门（京口区）。" in html
    for leak in ("健康路街道", "花山湾", "低保", f"/{application.pk}/"):
        assert leak not in html.split("<main", 1)[1].split("<form", 1)[0], leak
    assert not Referral.objects.exists()


def test_flagging_the_same_person_twice_links_to_the_first_flag(regions, staff):
    client = signed_in(staff["grid"])
    client.post("/grid/flags/new/", form_data(regions))
    first = Referral.objects.get()
    response = client.post("/grid/flags/new/", form_data(regions))
    assert response.status_code == 400
    assert "您已上报过此人" in response.content.decode()
    assert f'href="/grid/flags/{first.pk}/"' in response.content.decode()
    assert Referral.objects.count() == 1


def test_my_flags_show_what_became_of_each_newest_first(workday: Workday):
    client = signed_in(workday.users["grid"])
    response = client.get("/grid/flags/")
    rows = [(r["flag"].name, r["outcome"], r["reason"]) for r in response.context["rows"]]
    assert rows == [
        ("冯七", "refused", "家庭人均收入高于低保标准"),
        ("郑六", "enrolled", ""),
        ("孙三", "converted", ""),
        ("钱二", "rejected", "收入稳定"),
        ("赵大妈", "open", ""),
    ]
    assert "卫十" not in response.content.decode()  # town B's grid worker's flag
    refused = client.get("/grid/flags/", {"outcome": "refused"})
    assert [r["flag"].name for r in refused.context["rows"]] == ["冯七"]


def test_my_flags_come_twenty_to_a_page(regions, staff):
    grid = staff["grid"]
    for n in range(25):
        referrals.flag_candidate(
            name=f"候选人{n:02d}", village=regions["village_a1"], reason="other", by=grid
        )
    client = signed_in(grid)
    first = client.get("/grid/flags/")
    assert len(first.context["rows"]) == 20 and first.context["rows"][0]["flag"].name == "候选人24"
    assert "第 1 / 2 页，共 25 条" in first.content.decode()
    second = client.get("/grid/flags/", {"page": 2})
    assert [r["flag"].name for r in second.context["rows"]][-1] == "候选人00"


def test_a_flags_page_tells_its_story(workday: Workday):
    client = signed_in(workday.users["grid"])
    refused = Referral.objects.get(name="冯七")
    html = client.get(f"/grid/flags/{refused.pk}/").content.decode()
    for step in ("上报线索", "已转为救助申请", "进入入户调查", "进入乡镇审核", "不予批准"):
        assert step in html, step
    assert "家庭人均收入高于低保标准" in html
    enrolled = Referral.objects.get(name="郑六")
    html = client.get(f"/grid/flags/{enrolled.pk}/").content.decode()
    assert "批准，已纳入保障" in html and "起发放" in html


def test_another_grid_workers_flag_is_a_404(workday: Workday):
    theirs = Referral.objects.get(name="卫十")
    client = signed_in(workday.users["grid"])
    assert client.get(f"/grid/flags/{theirs.pk}/").status_code == 404
    assert client.get(f"/grid/flags/{theirs.pk}/photo/").status_code == 404


def test_only_grid_workers_open_the_grid_pages(staff):
    client = signed_in(staff["caseworker"])
    for url in ("/grid/flags/", "/grid/flags/new/"):
        assert client.get(url).status_code == 403
    assert Client().get("/grid/flags/new/").status_code == 302


def test_the_api_answers_a_resent_flag_with_the_first_one(regions, staff):
    client = signed_in(staff["grid"])
    body = {
        "name": "欧阳·阿依古丽",
        "village": regions["village_a1"].pk,
        "reason": "disability",
        "address": "北府路 12 号",
        "idempotency_key": str(uuid.uuid4()),
    }
    first = client.post("/api/referrals/", body, content_type="application/json")
    again = client.post("/api/referrals/", body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["address"] == "北府路 12 号"
    assert first.json()["has_photo"] is False  # the photo itself is not served by the API
    assert Referral.objects.count() == 1


def test_the_grid_pages_hold_no_inline_script_handler_or_style(workday: Workday):
    client = signed_in(workday.users["grid"])
    flag = Referral.objects.get(name="冯七")
    for url in ("/grid/flags/new/", "/grid/flags/", f"/grid/flags/{flag.pk}/"):
        html = client.get(url).content.decode()
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script, (url, script)
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert not re.search(r"\sstyle\s*=", html), url
        assert "<style" not in html, url

"""The printed public notice and decision letter: PDFs made by WeasyPrint with the Chinese text
in them, names masked on the notice as public notices are, no resident ID."""

import io

import pytest
from django.test import Client
from pypdf import PdfReader

from casework.models import CaseState
from casework.pages.documents import notice_name
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("王小明", "王*明"), ("欧阳小明", "欧**明"), ("王明", "王*"), ("王", "王"), (" 李四 ", "李*")],
)
def test_a_public_notice_masks_the_middle_of_a_name(name, shown):
    assert notice_name(name) == shown


def test_the_notice_lists_the_township_cases_in_notice_with_masked_names(workday: Workday):
    application = workday.applications["public_notice"]
    head = application.household.head
    head.name = "王小明"
    head.save()
    response = signed_in(workday.users["caseworker"]).get("/casework/notices.pdf")
    assert response.status_code == 200
    text = text_of(response)
    assert "正东路街道社会救助对象公示" in text
    assert "王*明" in text and "王小明" not in text
    assert head.id_number not in text and head.id_number[-4:] not in text
    assert application.notice_ends.isoformat() in text
    assert "北府社区" in text


def test_a_villages_notice_lists_only_that_villages_cases(workday: Workday, regions):
    client = signed_in(workday.users["caseworker"])
    a1, a2 = regions["village_a1"], regions["village_a2"]
    own = text_of(client.get("/casework/notices.pdf", {"village": a1.pk}))
    assert "北府社区社会救助对象公示" in own and notice_name("周public_notice") in own
    assert "目前没有正在公示的对象" in text_of(
        client.get("/casework/notices.pdf", {"village": a2.pk})
    )
    other = client.get("/casework/notices.pdf", {"village": regions["village_b1"].pk})
    assert other.status_code == 404


def test_the_notice_is_for_caseworkers(workday: Workday):
    assert signed_in(workday.users["grid"]).get("/casework/notices.pdf").status_code == 403


def test_the_decision_letter_of_an_approved_application(workday: Workday):
    application = workday.applications["approved"]
    response = signed_in(workday.users["caseworker"]).get(
        f"/casework/applications/{application.pk}/decision.pdf"
    )
    text = text_of(response)
    assert "社会救助审批决定书" in text
    assert "郑六" in text
    assert f"{application.enrolment.start_month:%Y-%m}" in text
    assert "京口区民政局" in text


def test_the_decision_letter_of_a_refusal_gives_the_reason(workday: Workday):
    application = workday.applications["refused"]
    response = signed_in(workday.users["caseworker"]).get(
        f"/casework/applications/{application.pk}/decision.pdf"
    )
    text = text_of(response)
    assert "不予批准社会救助决定书" in text
    assert "家庭人均收入高于低保标准" in text


def test_an_application_not_yet_decided_has_no_letter(workday: Workday):
    application = workday.applications["public_notice"]
    client = signed_in(workday.users["caseworker"])
    response = client.get(f"/casework/applications/{application.pk}/decision.pdf")
    assert response.status_code == 302
    assert application.state == CaseState.PUBLIC_NOTICE


def test_another_townships_decision_letter_is_a_404(workday: Workday):
    application = workday.applications["approved"]
    response = signed_in(workday.users["caseworker_b"]).get(
        f"/casework/applications/{application.pk}/decision.pdf"
    )
    assert response.status_code == 404

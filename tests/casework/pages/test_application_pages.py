"""The caseworker's application pages: each move goes through the service the API uses, a move
refused says why on the page, bad input is shown beside its field and saves nothing."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from casework.models import Application, CaseState, CaseStep, Objection, Referral, StepAttachment
from tests.factories import HouseholdFactory, MemberFactory
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_the_township_applications_of_a_step(workday: Workday):
    client = signed_in(workday.users["caseworker"])
    response = client.get("/casework/applications/", {"state": "home_visit"})
    assert response.status_code == 200
    assert response.context["count"] == 1
    page = response.content.decode()
    assert "周home_visit" in page
    assert "蒋十一" not in page  # town B's case at the same step


def test_the_list_is_for_caseworkers_only(workday: Workday):
    response = signed_in(workday.users["grid"]).get("/casework/applications/")
    assert response.status_code == 403


def test_another_townships_application_is_a_404(workday: Workday):
    other = signed_in(workday.users["caseworker_b"])
    pk = workday.applications["home_visit"].pk
    assert other.get(f"/casework/applications/{pk}/").status_code == 404
    response = other.post(f"/casework/applications/{pk}/move/", {"to": "economic_check"})
    assert response.status_code == 404
    assert Application.objects.get(pk=pk).state == CaseState.HOME_VISIT


def test_the_page_offers_only_the_moves_the_state_machine_allows(workday: Workday):
    client = signed_in(workday.users["caseworker"])
    review = client.get(f"/casework/applications/{workday.applications['township_review'].pk}/")
    assert [m["target"] for m in review.context["moves"]] == [
        "public_notice",
        "refused",
        "withdrawn",
    ]
    waiting = client.get(f"/casework/applications/{workday.applications['approval'].pk}/")
    # Approval itself is the county approver's: only withdrawing is left to the township.
    assert [m["target"] for m in waiting.context["moves"]] == ["withdrawn"]


def test_recording_the_home_visit_keeps_the_notes_and_documents(
    workday: Workday, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    application = workday.applications["home_visit"]
    client = signed_in(workday.users["caseworker"])
    photo = SimpleUploadedFile("灶房.jpg", b"\xff\xd8\xff\xe0 photo", content_type="image/jpeg")
    scan = SimpleUploadedFile("调查记录.pdf", b"%PDF-1.4 scan", content_type="application/pdf")
    response = client.post(
        f"/casework/applications/{application.pk}/move/",
        {
            "to": "economic_check",
            "economic_check-comment": "户主患病卧床，无劳动能力，住房漏雨。",
            "economic_check-attachments": [photo, scan],
        },
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == CaseState.ECONOMIC_CHECK
    step = application.steps.last()
    assert step.comment == "户主患病卧床，无劳动能力，住房漏雨。"
    assert sorted(a.name for a in step.attachments.all()) == ["灶房.jpg", "调查记录.pdf"]
    page = client.get(f"/casework/applications/{application.pk}/").content.decode()
    assert "户主患病卧床" in page and "调查记录.pdf" in page
    document = step.attachments.get(name="调查记录.pdf")
    download = client.get(f"/casework/attachments/{document.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 scan"
    other = signed_in(workday.users["caseworker_b"])
    assert other.get(f"/casework/attachments/{document.pk}/").status_code == 404


def test_a_file_above_the_upload_limit_is_refused_beside_the_field(workday: Workday, settings):
    settings.UPLOAD_MAX_BYTES = 10
    application = workday.applications["home_visit"]
    steps = CaseStep.objects.count()
    response = signed_in(workday.users["caseworker"]).post(
        f"/casework/applications/{application.pk}/move/",
        {
            "to": "economic_check",
            "economic_check-attachments": [SimpleUploadedFile("大照片.jpg", b"x" * 11)],
        },
    )
    assert response.status_code == 400
    form = next(m["form"] for m in response.context["moves"] if m["target"] == "economic_check")
    assert "文件过大" in form.errors["attachments"][0]
    assert 'id="id_economic_check-attachments_error"' in response.content.decode()
    application.refresh_from_db()
    assert application.state == CaseState.HOME_VISIT
    assert (CaseStep.objects.count(), StepAttachment.objects.count()) == (steps, 0)


def test_a_refusal_without_a_reason_is_shown_beside_the_reason(workday: Workday):
    application = workday.applications["township_review"]
    response = signed_in(workday.users["caseworker"]).post(
        f"/casework/applications/{application.pk}/move/", {"to": "refused", "refused-comment": ""}
    )
    assert response.status_code == 400
    form = next(m["form"] for m in response.context["moves"] if m["target"] == "refused")
    assert form.errors["comment"] == ["不予批准须写明理由。"]
    application.refresh_from_db()
    assert application.state == CaseState.TOWNSHIP_REVIEW


def test_sending_to_approval_while_the_notice_runs_says_when_it_ends(workday: Workday):
    application = workday.applications["public_notice"]
    steps = application.steps.count()
    response = signed_in(workday.users["caseworker"]).post(
        f"/casework/applications/{application.pk}/move/", {"to": "approval"}
    )
    assert response.status_code == 409
    ends = application.notice_ends.isoformat()
    assert f"公示期至{ends}" in response.content.decode()
    application.refresh_from_db()
    assert application.state == CaseState.PUBLIC_NOTICE
    assert application.steps.count() == steps


def test_a_move_the_state_machine_refuses_names_where_the_case_may_go(workday: Workday):
    application = workday.applications["submitted"]
    response = signed_in(workday.users["caseworker"]).post(
        f"/casework/applications/{application.pk}/move/", {"to": "public_notice"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "案件处于「已申请」，不能转到「公示」" in page.replace(",", "，")
    application.refresh_from_db()
    assert application.state == CaseState.SUBMITTED


def test_an_objection_is_recorded_and_resolved_before_approval(workday: Workday):
    application = workday.applications["public_notice"]
    client = signed_in(workday.users["caseworker"])
    empty = client.post(
        f"/casework/applications/{application.pk}/objections/", {"objection-content": ""}
    )
    assert empty.status_code == 400
    assert "objection-content" in empty.content.decode()
    assert not Objection.objects.exists()
    client.post(
        f"/casework/applications/{application.pk}/objections/",
        {"objection-raised_by_name": "邻居", "objection-content": "其子在外地有稳定工作。"},
    )
    objection = Objection.objects.get()
    Application.objects.filter(pk=application.pk).update(
        notice_ends=timezone.localdate() - datetime.timedelta(days=1)
    )
    refused = client.post(f"/casework/applications/{application.pk}/move/", {"to": "approval"})
    assert refused.status_code == 409
    assert "公示期间的异议尚未核实处理" in refused.content.decode()
    client.post(
        f"/casework/objections/{objection.pk}/resolve/",
        {f"resolve-{objection.pk}-resolution": "经核实其子已赡养，收入已计入。"},
    )
    sent = client.post(f"/casework/applications/{application.pk}/move/", {"to": "approval"})
    assert sent.status_code == 302
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL


def test_an_application_is_started_directly_for_a_household(workday: Workday, regions):
    household = HouseholdFactory(village=regions["village_a1"])
    household.head = MemberFactory(household=household, name="韩梅")
    household.save()
    client = signed_in(workday.users["caseworker"])
    form = client.get("/casework/applications/new/", {"household": household.pk})
    assert form.context["form"]["household"].value() == str(household.pk)
    response = client.post(
        "/casework/applications/new/",
        {"household": household.pk, "category": "dibao", "review_class": "stable"},
    )
    application = Application.objects.get(household=household)
    assert response.status_code == 302
    assert response["Location"] == f"/casework/applications/{application.pk}/"
    assert application.submitted_by == workday.users["caseworker"]


def test_a_household_outside_the_township_cannot_be_chosen(workday: Workday, regions):
    household = HouseholdFactory(village=regions["village_b1"])
    before = Application.objects.count()
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/applications/new/",
        {"household": household.pk, "category": "dibao", "review_class": "stable"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["household"] == [
        f"您的辖区内没有编号为 {household.pk} 的家庭。"
    ]
    assert Application.objects.count() == before


def test_a_second_open_application_is_refused_with_the_reason(workday: Workday):
    household = workday.applications["home_visit"].household
    before = Application.objects.count()
    response = signed_in(workday.users["caseworker"]).post(
        "/casework/applications/new/",
        {"household": household.pk, "category": "dibao", "review_class": "stable"},
    )
    assert "该对象已有同类别未办结的申请。" in response.content.decode()
    assert Application.objects.count() == before


def test_a_flag_becomes_an_application_for_the_household_holding_the_person(
    workday: Workday, regions
):
    flag = Referral.objects.get(name="赵大妈")
    client = signed_in(workday.users["caseworker"])
    nobody = client.get(f"/casework/flags/{flag.pk}/")
    assert "辖区内还没有登记此人所在的家庭" in nobody.content.decode()
    household = HouseholdFactory(village=flag.village)
    household.head = MemberFactory(household=household, name="赵大妈")
    household.save()
    page = client.get(f"/casework/flags/{flag.pk}/")
    assert page.context["convert"]["household"].initial == household.pk
    response = client.post(
        f"/casework/flags/{flag.pk}/",
        {
            "action": "convert",
            "household": household.pk,
            "category": "dibao",
            "review_class": "stable",
        },
    )
    flag.refresh_from_db()
    assert flag.status == Referral.Status.CONVERTED
    assert response["Location"] == f"/casework/applications/{flag.application_id}/"


def test_a_flag_declined_without_a_reason_stays_open(workday: Workday):
    flag = Referral.objects.get(name="赵大妈")
    client = signed_in(workday.users["caseworker"])
    response = client.post(f"/casework/flags/{flag.pk}/", {"action": "reject", "reason": " "})
    assert response.status_code == 400
    assert response.context["reject"].errors["reason"]
    flag.refresh_from_db()
    assert flag.status == Referral.Status.OPEN
    client.post(f"/casework/flags/{flag.pk}/", {"action": "reject", "reason": "已由子女赡养"})
    flag.refresh_from_db()
    assert (flag.status, flag.rejection_reason) == (Referral.Status.REJECTED, "已由子女赡养")


def test_the_flag_list_shows_the_townships_open_flags(workday: Workday):
    response = signed_in(workday.users["caseworker"]).get("/casework/flags/", {"status": "open"})
    assert response.context["count"] == 1
    page = response.content.decode()
    assert "赵大妈" in page and "卫十" not in page


def test_the_application_page_reads_in_english(workday: Workday):
    application = workday.applications["submitted"]
    client = signed_in(workday.users["caseworker"])
    page = client.get(f"/casework/applications/{application.pk}/", {"lang": "en"})
    text = page.content.decode()
    assert "Accept and start the home visit" in text
    assert "Acceptance note" in text
    refused = client.post(
        f"/casework/applications/{application.pk}/move/?lang=en", {"to": "public_notice"}
    )
    assert refused.status_code == 409
    assert "cannot go to" in refused.content.decode()


def test_a_document_that_could_carry_a_script_is_downloaded_not_shown(
    workday: Workday, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    application = workday.applications["home_visit"]
    client = signed_in(workday.users["caseworker"])
    page = SimpleUploadedFile("记录.html", b"<script>alert(1)</script>", content_type="text/html")
    photo = SimpleUploadedFile("门口.jpg", b"\xff\xd8\xff\xe0", content_type="image/jpeg")
    client.post(
        f"/casework/applications/{application.pk}/move/",
        {"to": "economic_check", "economic_check-attachments": [page, photo]},
    )
    html, jpeg = StepAttachment.objects.order_by("name")
    assert client.get(f"/casework/attachments/{html.pk}/")["Content-Disposition"].startswith(
        "attachment"
    )
    assert client.get(f"/casework/attachments/{jpeg.pk}/")["Content-Disposition"].startswith(
        "inline"
    )

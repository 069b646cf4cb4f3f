"""Who read whom on the casework pages: each page, PDF and document that shows people's data is
one read-log entry (a list: its filter and the rows shown; a record: its household)."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from beneficiaries.models import ReadEntry
from casework.models import Referral
from tests.casework.pages.test_relief_pages import household_in, relief
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client(REMOTE_ADDR="10.3.3.3")
    client.force_login(user)
    return client


def _entries():
    return list(ReadEntry.objects.order_by("id").values_list("what", "household", "rows", "query"))


def test_each_casework_page_of_people_is_one_entry(workday: Workday):
    caseworker = workday.users["caseworker"]
    client = signed_in(caseworker)
    approved = workday.applications["approved"]
    flag = Referral.objects.filter(region_code__startswith="321102001", status="open").first()

    pages = [
        "/casework/applications/?state=public_notice",
        f"/casework/applications/{approved.pk}/",
        f"/casework/applications/{approved.pk}/decision.pdf",
        "/casework/notices.pdf",
        "/casework/flags/",
        f"/casework/flags/{flag.pk}/",
        "/casework/deadlines/",
        "/casework/reviews-due/",
        "/casework/relief/",
    ]
    for path in pages:
        assert client.get(path).status_code == 200, path

    household = approved.household_id
    assert _entries() == [
        ("application.page_list", None, 1, "state=public_notice"),
        ("application.page", household, 1, ""),
        ("application.decision_pdf", household, 1, ""),
        ("application.notice_pdf", None, 1, ""),
        ("referral.page_list", None, 1, ""),
        ("referral.page", None, 1, ""),
        ("application.overdue_page", None, 1, ""),
        ("enrolment.reviews_due_page", None, 2, ""),
        ("relief.page_list", None, 0, ""),
    ]
    assert set(ReadEntry.objects.values_list("user", "ip_address")) == {(caseworker.pk, "10.3.3.3")}


def test_a_relief_case_and_a_step_document_name_their_household(
    workday: Workday, regions, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = signed_in(workday.users["caseworker"])
    household = household_in(regions["village_a1"])
    client.post("/casework/relief/new/", relief(household))
    application = workday.applications["home_visit"]
    scan = SimpleUploadedFile("调查记录.pdf", b"%PDF-1.4 scan", content_type="application/pdf")
    client.post(
        f"/casework/applications/{application.pk}/move/",
        {"to": "economic_check", "economic_check-attachments": [scan]},
    )
    case = household.relief_cases.get()
    document = application.steps.last().attachments.get()

    assert _entries() == []
    assert client.get(f"/casework/relief/{case.pk}/").status_code == 200
    assert client.get(f"/casework/attachments/{document.pk}/").status_code == 200

    assert _entries() == [
        ("relief.page", household.pk, 1, ""),
        ("application.attachment", application.household_id, 1, ""),
    ]


def test_a_page_outside_the_subtree_writes_no_entry(workday: Workday):
    other = signed_in(workday.users["caseworker_b"])
    approved = workday.applications["approved"]

    assert other.get(f"/casework/applications/{approved.pk}/").status_code == 404
    assert other.get(f"/casework/applications/{approved.pk}/decision.pdf").status_code == 404
    assert _entries() == []


def test_the_grid_workers_flags_are_read_entries_too(workday: Workday):
    grid = workday.users["grid"]
    client = signed_in(grid)
    flag = Referral.objects.filter(flagged_by=grid).order_by("id").first()

    for path in ("/home/", "/grid/flags/", f"/grid/flags/{flag.pk}/"):
        assert client.get(path).status_code == 200, path

    entries = _entries()
    mine = Referral.objects.filter(flagged_by=grid).count()
    assert entries == [
        ("referral.home", None, mine, ""),
        ("referral.grid_page_list", None, mine, ""),
        ("referral.grid_page", None, 1, ""),
    ]


def test_the_approvers_pages_are_read_entries(workday: Workday, regions):
    from tests.casework.pages.test_decision_pages import proposed_stop, relief_case

    change = proposed_stop(workday)
    relief_waiting = relief_case(workday, regions)
    application = workday.applications["approval"]
    client = signed_in(workday.users["approver"])

    for path in (
        "/casework/decisions/",
        "/casework/decisions/?show=changes",
        f"/casework/applications/{application.pk}/decision/",
        f"/casework/changes/{change.pk}/decision/",
        f"/casework/relief/{relief_waiting.pk}/decision/",
    ):
        assert client.get(path).status_code == 200, path
    refused = client.post(f"/casework/changes/{change.pk}/decision/", {"decision": "x"})

    assert refused.status_code == 400  # a decision posted is a write: no read entry
    assert _entries() == [
        ("decisions.applications_page_list", None, 2, ""),
        ("decisions.changes_page_list", None, 1, "show=changes"),
        ("application.decision_page", application.household_id, 1, ""),
        ("change.decision_page", change.enrolment.household_id, 1, ""),
        ("relief.decision_page", relief_waiting.household_id, 1, ""),
    ]

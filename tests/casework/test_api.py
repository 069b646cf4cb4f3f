import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from casework.models import (
    Adjustment,
    AdjustmentCount,
    Application,
    CaseState,
    Enrolment,
    Referral,
)
from casework.services import applications, enrolments, referrals, registry_events
from core.months import add_months, first_of_month
from tests.factories import HouseholdFactory, MemberFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_grid_worker_flags_and_follows_only_their_own_flags(grid_worker, regions, make_user):
    other = make_user("grid_worker", regions["village_a1"])
    referrals.flag_candidate(name="钱七", village=regions["village_a1"], reason="other", by=other)
    api = client_for(grid_worker)
    response = api.post(
        "/api/referrals/",
        {
            "name": "孙八",
            "id_number": MemberFactory.build(household__region_code="321102001001").id_number,
            "village": regions["village_a1"].pk,
            "reason": "lost_job",
            "note": "工厂倒闭",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert "*" in response.json()["id_number"]
    listed = api.get("/api/referrals/").json()["results"]
    assert [r["name"] for r in listed] == ["孙八"]


def test_a_duplicate_flag_answers_409_with_the_open_one(grid_worker, regions):
    api = client_for(grid_worker)
    payload = {"name": "孙八", "village": regions["village_a1"].pk, "reason": "lost_job"}
    first = api.post("/api/referrals/", payload, format="json").json()
    response = api.post("/api/referrals/", payload, format="json")
    assert response.status_code == 409
    assert response.json()["existing"] == {"type": "referral", "id": first["id"], "status": "open"}
    assert Referral.objects.count() == 1


def test_the_grid_worker_sees_the_caseworkers_decision(
    grid_worker, caseworker, regions, household, family
):
    rejected = referrals.flag_candidate(
        name="甲", village=regions["village_a1"], reason="other", by=grid_worker
    )
    converted = referrals.flag_candidate(
        name="王大", village=regions["village_a1"], reason="serious_illness", by=grid_worker
    )
    staff = client_for(caseworker)
    reply = staff.post(f"/api/referrals/{rejected.pk}/reject/", {"reason": "不符合条件"})
    assert reply.status_code == 200
    reply = staff.post(
        f"/api/referrals/{converted.pk}/convert/",
        {"household": household.pk, "category": "dibao"},
        format="json",
    )
    assert reply.status_code == 201
    seen = {r["name"]: r for r in client_for(grid_worker).get("/api/referrals/").json()["results"]}
    assert seen["甲"]["rejection_reason"] == "不符合条件"
    assert seen["王大"]["status"] == "converted"
    assert seen["王大"]["application"] == reply.json()["id"]


def test_an_illegal_move_answers_409_saying_why(caseworker, household, family):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    response = client_for(caseworker).post(
        f"/api/applications/{application.pk}/move/", {"to": "approved"}, format="json"
    )
    assert response.status_code == 409
    assert "入户调查" in response.json()["detail"]
    application.refresh_from_db()
    assert application.state == CaseState.SUBMITTED


def test_moves_carry_attachments_through_the_api(caseworker, household, family, media):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    response = client_for(caseworker).post(
        f"/api/applications/{application.pk}/move/",
        {
            "to": "home_visit",
            "comment": "已入户",
            "attachments": [SimpleUploadedFile("照片.jpg", b"jpeg-bytes")],
        },
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    step = response.json()["steps"][-1]
    assert step["comment"] == "已入户"
    assert step["attachments"][0]["name"] == "照片.jpg"


def test_out_of_scope_cases_are_404_and_auditors_cannot_write(
    caseworker, other_caseworker, auditor, household, family
):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    url = f"/api/applications/{application.pk}/"
    assert client_for(other_caseworker).get(url).status_code == 404
    assert client_for(other_caseworker).post(url + "move/", {"to": "home_visit"}).status_code == 404
    assert client_for(auditor).get(url).status_code == 200
    assert client_for(auditor).post(url + "move/", {"to": "home_visit"}).status_code == 403
    application.refresh_from_db()
    assert application.state == CaseState.SUBMITTED


def test_death_is_recorded_through_the_api(caseworker, household, family, approver):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )
    response = client_for(caseworker).post(
        "/api/deaths/", {"member": family["spouse"].pk, "died_on": "2024-08-15"}, format="json"
    )
    assert response.status_code == 204
    assert enrolment.adjustments.filter(kind="decrease", reason_code="death").exists()


def test_an_enrolment_is_stopped_through_the_api(caseworker, household, family, approver):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )
    last_month = add_months(first_of_month(timezone.localdate()), -1)
    response = client_for(caseworker).post(
        f"/api/enrolments/{enrolment.pk}/stop/",
        {"effective_month": f"{last_month:%Y-%m}", "reason_code": "moved", "reason_text": "迁出"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "proposed"
    enrolment.refresh_from_db()
    assert enrolment.status == "active"

    change = response.json()["id"]
    response = client_for(approver).post(f"/api/change-requests/{change}/approve/", {})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    detail = client_for(caseworker).get(f"/api/enrolments/{enrolment.pk}/").json()
    assert detail["status"] == "stopped"
    assert detail["adjustments"][-1]["kind"] == "stop"
    assert detail["adjustments"][-1]["proposed_by"] == caseworker.username
    assert detail["adjustments"][-1]["approved_by"] == approver.username


@pytest.fixture
def adjustments(regions, caseworker, approver, family, household):
    """Two adjustments in town A (one approved by the county), one in town B."""
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )
    enrolments.stop(
        enrolment=enrolment,
        effective_month=datetime.date(2024, 10, 1),
        reason_code="income",
        reason_text="收入超标",
        by=caseworker,
        approved_by=approver,
    )
    elsewhere = HouseholdFactory(village=regions["village_b1"])
    MemberFactory(household=elsewhere)
    enrolments.enrol(
        household=elsewhere,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )


def test_the_auditor_filters_adjustments_by_region_kind_month_and_actor(auditor, adjustments):
    api = client_for(auditor)

    def ids(query):
        return [
            (a["kind"], a["region_code"])
            for a in api.get(f"/api/adjustments/{query}").json()["results"]
        ]

    assert len(ids("")) == 3
    assert ids("?region=321102002") == [("new", "321102002001")]
    assert ids("?kind=stop") == [("stop", "321102001001")]
    assert ids("?month=2024-10") == [("stop", "321102001001")]
    assert len(ids("?actor=approver")) == 3
    assert ids("?actor=caseworker-b") == []


@pytest.mark.postgres
def test_the_adjustment_list_is_counted_from_the_kept_counts_as_the_list_filters(
    auditor, caseworker, adjustments
):
    api = client_for(auditor)
    queries = [
        "",
        "?region=321102002",
        "?kind=stop",
        "?kind=stop&kind=new",
        "?month=2024-10",
        "?month=2024-08&region=3211020",
        "?page_size=1&page=2",
        "?actor=approver",
        "?household=0",
    ]
    listed = {}
    for query in queries:
        with CaptureQueriesContext(connection) as read:
            body = api.get(f"/api/adjustments/{query}").json()
        listed[query] = (body["count"], sum(1 for q in read if "casework_adjustment\"" in q["sql"]
                         and "COUNT(" in q["sql"].upper()))  # fmt: skip
    everything = Adjustment.objects.filter(region_code__startswith="3211")
    august_in_jingkou = everything.filter(
        effective_month=datetime.date(2024, 8, 1), region_code__startswith="3211020"
    ).count()

    assert listed == {
        "": (3, 0),
        "?region=321102002": (1, 0),
        "?kind=stop": (1, 0),
        "?kind=stop&kind=new": (3, 0),
        "?month=2024-10": (1, 0),
        "?month=2024-08&region=3211020": (august_in_jingkou, 0),
        "?page_size=1&page=2": (3, 0),
        # Filters the counts do not hold: the list is counted.
        "?actor=approver": (3, 1),
        "?household=0": (0, 1),
    }  # fmt: skip
    assert client_for(caseworker).get("/api/adjustments/").json()["count"] == everything.filter(
        region_code__startswith="321102001").count()  # fmt: skip
    assert AdjustmentCount.objects.aggregate(n=Sum("n"))["n"] == Adjustment.objects.count()


def test_the_auditor_exports_adjustments_as_csv_and_xlsx(auditor, adjustments):
    api = client_for(auditor)
    csv_response = api.get("/api/adjustments/export-csv/?kind=stop")
    assert csv_response.status_code == 200
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0].startswith("编号,区划代码,家庭")
    assert len(text) == 2
    assert "停发" in text[1] and "收入超标" in text[1] and "2024-10" in text[1]
    assert "caseworker-a" in text[1]
    xlsx = api.get("/api/adjustments/export-xlsx/")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "编号"
    assert len(rows) == 4
    stop_row = next(row for row in rows if row[5] == "停发")
    assert (stop_row[7], stop_row[8], stop_row[11]) == ("收入超标", "2024-10", "caseworker-a")


def test_a_caseworker_sees_only_their_townships_adjustments(caseworker, adjustments):
    listed = client_for(caseworker).get("/api/adjustments/").json()["results"]
    assert {a["region_code"] for a in listed} == {"321102001001"}


def test_adjustments_cannot_be_written_through_the_api(auditor, caseworker, adjustments):
    for user in (auditor, caseworker):
        api = client_for(user)
        adjustment_id = api.get("/api/adjustments/").json()["results"][0]["id"]
        assert api.post("/api/adjustments/", {}).status_code in (403, 405)
        assert api.patch(f"/api/adjustments/{adjustment_id}/", {}).status_code in (403, 405)
        assert api.delete(f"/api/adjustments/{adjustment_id}/").status_code in (403, 405)


def test_the_timeline_tells_the_whole_story(
    grid_worker, caseworker, approver, auditor, regions, household, family
):
    from payments.explanations import create_lines, make
    from payments.models import PaymentBatch, PaymentLine

    referral = referrals.flag_candidate(
        name="王大", village=regions["village_a1"], reason="serious_illness", by=grid_worker
    )
    application = referrals.convert_referral(
        referral=referral, household=household, category="dibao", by=caseworker
    )
    for target in ("home_visit", "economic_check", "township_review", "public_notice"):
        applications.move_application(
            application=application, to=target, by=caseworker, comment="ok"
        )
    objection = applications.raise_objection(application=application, content="有车", by=caseworker)
    applications.resolve_objection(objection=objection, resolution="车已报废", by=caseworker)
    Application.objects.filter(pk=application.pk).update(notice_ends=datetime.date(2000, 1, 1))
    applications.move_application(application=application, to="approval", by=caseworker)
    applications.move_application(
        application=application, to="approved", by=approver, comment="同意"
    )
    enrolment = Enrolment.objects.get()
    batch = PaymentBatch.objects.create(region=regions["zhenjiang"], month=enrolment.start_month)
    create_lines(
        [
            PaymentLine(
                batch=batch,
                month=enrolment.start_month,
                kind="regular",
                enrolment=enrolment,
                household=household,
                region_code=household.region_code,
                amount=Decimal("1725"),
                explanation_ref=make([]),
            )
        ]
    )
    registry_events.record_death(
        member=family["spouse"], died_on=datetime.date.today(), by=caseworker
    )

    response = client_for(auditor).get(f"/api/timeline/households/{household.pk}/")
    assert response.status_code == 200
    story = [e for e in response.json()["entries"] if e["kind"] != "history"]
    kinds = [e["kind"] for e in story]
    assert kinds[:2] == ["referral", "application_step"]
    assert kinds.index("referral_handled") < kinds.index("adjustment")
    assert [e["ref"]["to"] for e in story if e["kind"] == "application_step"] == [
        "submitted",
        "home_visit",
        "economic_check",
        "township_review",
        "public_notice",
        "approval",
        "approved",
    ]
    assert {"objection", "objection_resolved", "payment_line"} <= set(kinds)
    adjustments = [e for e in story if e["kind"] == "adjustment"]
    assert [a["summary"][:2] for a in adjustments] == ["新增", "减发"]
    assert adjustments[0]["ref"]["approved_by"] == approver.username
    assert story[0]["actor"] == grid_worker.username


def test_a_household_outside_the_scope_has_no_timeline(other_caseworker, household):
    response = client_for(other_caseworker).get(f"/api/timeline/households/{household.pk}/")
    assert response.status_code == 404


def test_the_reason_for_a_refused_move_is_given_in_english_on_request(
    caseworker, household, family
):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    response = client_for(caseworker).post(
        f"/api/applications/{application.pk}/move/?lang=en", {"to": "approved"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The case is at “Submitted” and cannot go to “Approved”; "
        "it can go to: Home visit, Withdrawn."
    )

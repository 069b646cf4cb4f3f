"""Times users see in casework (the audit export, the household's history) are Asia/Shanghai."""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from casework.services import applications, enrolments, registry_events
from core.exceptions import DomainError

# 20:30 UTC on 31 August is 04:30 on 1 September in Shanghai.
LATE_EVENING_UTC = datetime.datetime(2024, 8, 31, 20, 30, tzinfo=datetime.UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def enrolled_late_in_the_evening(household, family, caseworker, monkeypatch, approver):
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: LATE_EVENING_UTC)
        return enrolments.enrol(
            household=household,
            category="dibao",
            start_month=datetime.date(2024, 8, 1),
            by=caseworker,
            approved_by=approver,
        )


def test_the_audit_csv_records_the_time_in_shanghai(auditor, enrolled_late_in_the_evening):
    response = client_for(auditor).get("/api/adjustments/export-csv/")
    rows = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert rows[0].endswith("记录时间")
    assert rows[1].endswith(",2024-09-01 04:30:00+08:00")


def test_the_audit_xlsx_records_the_time_in_shanghai(auditor, enrolled_late_in_the_evening):
    response = client_for(auditor).get("/api/adjustments/export-xlsx/")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][-1] == "记录时间"
    assert rows[1][-1] == "2024-09-01 04:30:00+08:00"


def test_the_household_timeline_is_in_shanghai_time(
    auditor, household, enrolled_late_in_the_evening
):
    response = client_for(auditor).get(f"/api/timeline/households/{household.pk}/")
    (adjustment,) = [e for e in response.json()["entries"] if e["kind"] == "adjustment"]
    assert adjustment["at"].startswith("2024-09-01T04:30:00")
    assert adjustment["at"].endswith("+08:00")


@pytest.mark.postgres
def test_the_times_inside_a_history_diff_are_in_shanghai_time(
    auditor, household, family, caseworker, clock
):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    clock(LATE_EVENING_UTC)
    applications.move_application(application=application, to="home_visit", by=caseworker)
    entries = client_for(auditor).get(f"/api/timeline/households/{household.pk}/").json()
    update = next(
        e
        for e in entries["entries"]
        if e["kind"] == "history" and "Application" in e["summary"] and "update" in e["summary"]
    )
    before, after = update["ref"]["diff"]["updated_at"]
    assert before.endswith("+08:00")
    assert after == "2024-09-01T04:30:00+08:00"


def test_a_death_on_shanghais_today_is_accepted_and_tomorrow_refused(family, caseworker, clock):
    clock(datetime.datetime(2030, 1, 1, 20, 0, tzinfo=datetime.UTC))  # 2 January in Shanghai
    with pytest.raises(DomainError):
        registry_events.record_death(
            member=family["spouse"], died_on=datetime.date(2030, 1, 3), by=caseworker
        )
    member = registry_events.record_death(
        member=family["spouse"], died_on=datetime.date(2030, 1, 2), by=caseworker
    )
    assert member.death_date == datetime.date(2030, 1, 2)

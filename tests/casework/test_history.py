"""History is kept by database triggers (PostgreSQL only) and cannot be changed."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from casework.models import Adjustment, Application
from casework.services import applications, enrolments

pytestmark = pytest.mark.postgres


def test_history_rows_carry_the_actor_and_the_request(caseworker, household, family, token_client):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    url = f"/api/applications/{application.pk}/move/"
    response = token_client(caseworker).post(url, {"to": "home_visit"}, format="json")
    assert response.status_code == 200
    event = Application.pgh_event_model.objects.filter(
        pgh_obj=application, pgh_label="update"
    ).get()
    assert event.state == "home_visit"
    assert event.pgh_context.metadata["user"] == caseworker.pk
    assert event.pgh_context.metadata["url"] == url


def test_the_timeline_includes_recorded_changes_with_their_actor(
    caseworker, auditor, household, family, token_client
):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    token_client(caseworker).post(
        f"/api/applications/{application.pk}/move/", {"to": "home_visit"}, format="json"
    )
    client = APIClient()
    client.force_authenticate(auditor)
    entries = client.get(f"/api/timeline/households/{household.pk}/").json()["entries"]
    history = [e for e in entries if e["kind"] == "history"]
    update = next(e for e in history if "update" in e["summary"] and "Application" in e["summary"])
    assert update["actor"] == caseworker.username
    assert update["ref"]["diff"]["state"] == ["submitted", "home_visit"]


def test_an_adjustment_cannot_be_updated_or_deleted(caseworker, household, family, approver):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )
    adjustment = enrolment.adjustments.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE casework_adjustment SET amount_after = 1 WHERE id = %s", [adjustment.pk]
            )
    with pytest.raises(DatabaseError), transaction.atomic():
        Adjustment.objects.filter(pk=adjustment.pk).delete()
    adjustment.refresh_from_db()
    assert adjustment.amount_after == Adjustment.objects.get(pk=adjustment.pk).amount_after


def test_history_events_cannot_be_edited_or_deleted(caseworker, household, family):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    events = Application.pgh_event_model.objects.filter(pgh_obj=application)
    assert events.count() == 1
    with pytest.raises(DatabaseError), transaction.atomic():
        events.update(state="approved")
    with pytest.raises(DatabaseError), transaction.atomic():
        events.delete()
    assert events.get().state == "submitted"

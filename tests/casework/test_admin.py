"""The casework admin, for administrators: read-only, scoped to the administrator's region."""

import datetime

from django.test import Client

from casework.models import Adjustment, Application
from casework.services import applications, enrolments


def staff_client(user) -> Client:
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_adjustments_are_read_only_in_the_admin(
    user_with_role, caseworker, household, family, approver
):
    enrolment = enrolments.enrol(
        household=household,
        category="dibao",
        start_month=datetime.date(2024, 8, 1),
        by=caseworker,
        approved_by=approver,
    )
    adjustment = enrolment.adjustments.get()
    client = staff_client(user_with_role("admin"))
    url = f"/admin/casework/adjustment/{adjustment.pk}/change/"
    assert client.get("/admin/casework/adjustment/").status_code == 200
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason_text": "改写"})
    assert response.status_code == 403
    assert client.post(f"/admin/casework/adjustment/{adjustment.pk}/delete/").status_code == 403
    assert Adjustment.objects.get().reason_text == adjustment.reason_text


def test_history_events_are_read_only_in_the_admin(user_with_role, caseworker, household, family):
    applications.submit_application(household=household, category="dibao", by=caseworker)
    client = staff_client(user_with_role("admin"))
    assert client.get("/admin/casework/applicationevent/").status_code == 200
    assert client.get("/admin/casework/applicationevent/add/").status_code == 403
    assert client.get("/admin/casework/application/add/").status_code == 403


def test_the_admin_is_scoped_to_the_users_region(regions, make_user, caseworker, household, family):
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    client = staff_client(make_user("admin", regions["town_b"]))
    url = f"/admin/casework/application/{application.pk}/change/"
    assert client.get(url).status_code == 302  # "does not exist" redirects to the index
    assert Application.objects.count() == 1

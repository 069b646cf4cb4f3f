"""Who read whom in casework: an enrolment's explanation, a household's timeline and the
adjustment exports are logged as reads (an export is one entry with its filter and count)."""

from rest_framework.test import APIClient

from beneficiaries.models import ReadEntry
from tests.factories import EnrolmentFactory


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_enrolments_explanation_is_logged_against_its_household(family, household, caseworker):
    enrolment = EnrolmentFactory(household=household)
    response = _as(caseworker).get(f"/api/enrolments/{enrolment.pk}/explain/?month=2024-08")
    assert response.status_code == 200
    entry = ReadEntry.objects.get()
    assert (entry.what, entry.household, entry.query) == (
        "enrolment.explanation",
        household,
        "month=2024-08",
    )


def test_a_households_timeline_is_logged(family, household, auditor):
    assert _as(auditor).get(f"/api/timeline/households/{household.pk}/").status_code == 200
    assert ReadEntry.objects.get().what == "household.timeline"


def test_an_adjustment_export_is_one_entry_with_its_filter_and_count(household, auditor):
    for kind in ("csv", "xlsx"):
        response = _as(auditor).get(
            f"/api/adjustments/export-{kind}/?kind=stop&region=321100000000"
        )
        assert response.status_code == 200
    entries = list(ReadEntry.objects.order_by("id"))
    assert [e.what for e in entries] == ["adjustments.export_csv", "adjustments.export_xlsx"]
    assert {(e.rows, e.query, e.household_id) for e in entries} == {
        (0, "kind=stop&region=321100000000", None)
    }


def test_casework_records_are_logged_against_their_household(family, household, caseworker):
    enrolment = EnrolmentFactory(household=household)
    client = _as(caseworker)
    assert client.get(f"/api/enrolments/{enrolment.pk}/").status_code == 200
    assert client.get(f"/api/enrolments/?household={household.pk}").json()["count"] == 1
    assert client.get("/api/enrolments/reviews-due/").status_code == 200

    detail, listed, due = ReadEntry.objects.order_by("id")
    assert (detail.what, detail.household) == ("enrolment.detail", household)
    assert (listed.what, listed.rows, listed.household) == ("enrolment.list", 1, household)
    assert (due.what, due.household, due.user) == ("enrolment.reviews_due", None, caseworker)

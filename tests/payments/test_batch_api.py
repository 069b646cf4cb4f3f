"""The batch API: finance creates and computes, anyone in scope watches, approved is frozen."""

import datetime
from decimal import Decimal

from payments.models import PaymentBatch, PaymentLine, Recovery
from rules.parameters import load_standards


def test_finance_creates_and_computes_a_batch(
    client, regions, caseload, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("finance", regions["zhenjiang"]))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/batches/", {"region": "321102", "month": "2024-08"})

    assert response.status_code == 201, response.content
    batch = PaymentBatch.objects.get()
    assert response.json()["id"] == batch.pk
    shown = client.get(f"/api/batches/{batch.pk}/").json()
    assert (shown["status"], shown["chunks_done"], shown["chunks_total"]) == ("computed", 3, 3)
    assert shown["line_count"] == 7
    assert shown["progress"]["lines_written"] == 7


def test_a_second_batch_for_the_month_is_refused_with_409(client, regions, caseload, make_user):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    client.post("/api/batches/", {"region": "321102", "month": "2024-08"})

    response = client.post("/api/batches/", {"region": "321102", "month": "2024-08"})

    assert response.status_code == 409
    assert PaymentBatch.objects.count() == 1


def test_bad_input_is_refused_field_by_field(client, regions, make_user):
    client.force_login(make_user("finance", regions["zhenjiang"]))

    response = client.post("/api/batches/", {"region": "320402", "month": "August"})

    assert response.status_code == 400
    assert set(response.json()) == {"region", "month"}
    assert not PaymentBatch.objects.exists()


def test_a_caseworker_cannot_create_a_batch(client, regions, caseload, make_user):
    client.force_login(make_user("caseworker", regions["jingkou"]))

    response = client.post("/api/batches/", {"region": "321102", "month": "2024-08"})

    assert response.status_code == 403
    assert not PaymentBatch.objects.exists()


def test_recomputing_an_approved_batch_is_refused_with_409(client, regions, caseload, make_user):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    batch_id = client.post("/api/batches/", {"region": "321102", "month": "2024-08"}).json()["id"]
    PaymentBatch.objects.filter(pk=batch_id).update(status=PaymentBatch.Status.APPROVED)
    lines = list(PaymentLine.objects.order_by("pk").values_list("pk", "amount"))

    response = client.post(f"/api/batches/{batch_id}/recompute/")

    assert response.status_code == 409
    assert list(PaymentLine.objects.order_by("pk").values_list("pk", "amount")) == lines


def test_a_batch_outside_the_users_region_is_not_found(client, regions, caseload, make_user):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    batch_id = client.post("/api/batches/", {"region": "321102", "month": "2024-08"}).json()["id"]
    client.force_login(make_user("finance", regions["changzhou"]))

    assert client.get(f"/api/batches/{batch_id}/").status_code == 404
    assert client.post(f"/api/batches/{batch_id}/recompute/").status_code == 404
    assert client.get("/api/batches/").json()["count"] == 0


def test_a_line_shows_the_explanation_stored_when_it_was_computed(
    client, regions, caseload, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/batches/", {"region": "321102", "month": "2024-08"})
    line = PaymentLine.objects.select_related("explanation_ref").order_by("pk").first()

    shown = client.get(f"/api/payment-lines/{line.pk}/").json()

    assert shown["amount"] == f"{line.amount:.2f}"
    assert shown["explanation"] == line.explanation
    assert shown["explanation"][-1]["result"]


def test_a_caseworker_sees_only_the_lines_of_their_township(
    client, regions, caseload, make_user, django_capture_on_commit_callbacks
):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/batches/", {"region": "321102", "month": "2024-08"})
    client.force_login(make_user("caseworker", regions["town_b"]))
    outside = PaymentLine.objects.exclude(region_code__startswith="321102002").first()

    listed = client.get("/api/payment-lines/").json()["results"]

    assert listed
    assert all(row["region_code"].startswith("321102002") for row in listed)
    assert client.get(f"/api/payment-lines/{outside.pk}/").status_code == 404


def test_the_batch_and_recovery_lists_honour_page_size(
    client, regions, make_user, make_batch, household
):
    client.force_login(make_user("finance", regions["zhenjiang"]))
    for month in (1, 2, 3):
        make_batch(datetime.date(2024, month, 1))
    for amount in ("10", "20", "30"):
        Recovery.objects.create(
            household=household,
            region_code=household.region_code,
            reason=Recovery.Reason.OVERPAYMENT,
            amount=Decimal(amount),
        )

    load_standards()

    for url in ("/api/batches/", "/api/recoveries/", "/api/standards/"):
        page = client.get(url, {"page_size": 2}).json()
        assert len(page["results"]) == 2, url
        assert page["next"], url

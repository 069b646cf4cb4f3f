"""Who read whom on the payments side: explanations of payment lines, bank files and recoveries
are logged as reads; computing a batch writes no read entry."""

import datetime

from rest_framework.test import APIClient

from beneficiaries.models import ReadEntry
from payments import batches
from tests.payments.conftest import AUGUST

SEP = datetime.date(2024, 9, 1)


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_computing_a_batch_writes_no_read_entry(
    regions, caseload, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
        batches.compute_batch(batch=batch)
    batch.refresh_from_db()
    assert batch.status == "computed" and batch.line_count == 7
    assert not ReadEntry.objects.exists()


def test_payment_lines_with_their_explanations_are_one_entry_per_list(
    make_batch, add_line, household, approver
):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    response = _as(approver).get(f"/api/payment-lines/?household={household.pk}")
    line = response.json()["results"][0]
    _as(approver).get(f"/api/payment-lines/{line['id']}/")

    listed, detail = ReadEntry.objects.order_by("id")
    assert (listed.what, listed.rows, listed.household) == ("payment_line.list", 1, household)
    assert listed.query == f"household={household.pk}"
    assert (detail.what, detail.household) == ("payment_line.detail", household)


def test_exporting_and_downloading_a_bank_file_are_logged_with_the_transfer_count(
    make_batch, add_line, household, approver, regions, make_user
):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    client = _as(approver)
    client.post(f"/api/batches/{batch.pk}/approve/")
    client.post(f"/api/batches/{batch.pk}/bank-file/")
    download = client.get(f"/api/batches/{batch.pk}/bank-file/?file_format=xlsx")
    assert download.status_code == 200

    exported, downloaded = ReadEntry.objects.order_by("id")
    assert (exported.what, exported.rows, exported.query) == (
        "bank_file.export",
        1,
        f"batch={batch.pk}",
    )
    assert (downloaded.what, downloaded.rows, downloaded.user) == (
        "bank_file.download",
        1,
        approver,
    )
    assert downloaded.query == f"batch={batch.pk}&file_format=xlsx"


def test_a_refused_bank_file_download_is_not_logged(make_batch, add_line, household, approver):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    response = _as(approver).get(f"/api/batches/{batch.pk}/bank-file/?file_format=csv")
    assert response.status_code == 404
    assert not ReadEntry.objects.exists()


def test_the_batch_difference_is_one_entry_a_page_with_its_filter_and_rows(
    make_batch, add_line, household, approver
):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    client = _as(approver)

    new = client.get(f"/api/batches/{batch.pk}/diff/?change=new")
    stopped = client.get(f"/api/batches/{batch.pk}/diff/?change=stopped")
    totals = client.get(f"/api/batches/{batch.pk}/review/")

    assert [line["household"] for line in new.json()["results"]] == [household.pk]
    assert stopped.status_code == 200 and totals.status_code == 200
    entries = ReadEntry.objects.order_by("id").values_list("what", "rows", "query", "user")
    # The review holds totals by category and district only, no one's data: not logged.
    assert list(entries) == [
        ("batch.diff", 1, "change=new", approver.pk),
        ("batch.diff", 0, "change=stopped", approver.pk),
    ]


def test_a_difference_outside_the_region_is_not_logged(
    make_batch, add_line, household, make_user, regions
):
    batch = make_batch(SEP)
    add_line(batch, household, "1725")
    outsider = make_user("finance", regions["changzhou"])

    assert _as(outsider).get(f"/api/batches/{batch.pk}/diff/").status_code == 404
    assert not ReadEntry.objects.exists()

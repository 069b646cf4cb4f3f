"""Payment lines are partitioned by month (PostgreSQL, migration 0018, payments.partitions)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from payments import batches, partitions, tasks
from payments.models import PaymentBatch, PaymentLine
from tests.payments.conftest import AUGUST

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

JULY = datetime.date(2024, 7, 1)
SEPTEMBER = datetime.date(2024, 9, 1)
FAR = datetime.date(2031, 1, 1)


def partition_of(line: PaymentLine) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM payments_paymentline WHERE id = %s", [line.pk]
        )
        return cursor.fetchone()[0]


def default_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_paymentline_default")
        return cursor.fetchone()[0]


def test_a_computed_batch_writes_its_lines_into_its_month_s_partition(caseload, regions):
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    batches.compute_batch(batch=batch, inline=True)

    lines = list(PaymentLine.objects.filter(batch=batch))
    assert lines
    assert {partition_of(line) for line in lines} == {"payments_paymentline_y2024m08"}
    assert default_rows() == 0


def test_back_pay_for_an_older_month_lands_in_that_month_s_partition(
    make_batch, household, add_line
):
    partitions.ensure_months([JULY, AUGUST])
    batch = make_batch(AUGUST)

    regular = add_line(batch, household, "900")
    back_pay = add_line(batch, household, "40", kind=PaymentLine.Kind.BACK_PAY, month=JULY)

    assert partition_of(regular) == "payments_paymentline_y2024m08"
    assert partition_of(back_pay) == "payments_paymentline_y2024m07"
    assert set(PaymentLine.objects.filter(batch=batch)) == {regular, back_pay}


def test_a_line_of_a_month_with_no_partition_waits_in_default_and_moves_into_its_partition(
    make_batch, household, add_line
):
    line = add_line(make_batch(FAR), household, "900")
    assert partition_of(line) == "payments_paymentline_default"

    made = partitions.ensure_months([FAR])

    assert made == ["payments_paymentline_y2031m01"]
    moved = PaymentLine.objects.get()
    assert (moved.pk, moved.month, moved.amount) == (line.pk, FAR, Decimal("900"))
    assert partition_of(moved) == "payments_paymentline_y2031m01"
    assert default_rows() == 0
    assert partitions.ensure_months([FAR]) == []


def test_beat_makes_this_month_s_partition_and_the_next_twelve():
    made = tasks.ensure_line_partitions()

    assert len(made) == 13
    assert (
        partitions.missing_months(
            datetime.date.fromisoformat(f"{name[-7:-3]}-{name[-2:]}-01") for name in made
        )
        == []
    )
    assert tasks.ensure_line_partitions() == []


def reissue(batch, household, add_line, ref="reissue:41:7"):
    return add_line(batch, household, "900", kind=PaymentLine.Kind.REISSUE, source_ref=ref)


def test_a_failed_transfer_is_reissued_once_whatever_month_the_database_is_asked_in(
    make_batch, household, add_line
):
    partitions.ensure_months([SEPTEMBER])
    reissue(make_batch(SEPTEMBER), household, add_line)
    october = make_batch(datetime.date(2024, 10, 1))

    with pytest.raises(IntegrityError, match="one_reissue_per_failed_transfer"):
        with transaction.atomic():
            reissue(october, household, add_line)

    assert PaymentLine.objects.filter(kind=PaymentLine.Kind.REISSUE).count() == 1
    another = reissue(october, household, add_line, ref="reissue:41:8")
    assert another.month == datetime.date(2024, 10, 1)


def test_a_reissue_line_removed_with_its_recomputed_batch_may_be_written_again(
    make_batch, household, add_line
):
    september = make_batch(SEPTEMBER, status=PaymentBatch.Status.COMPUTED)
    reissue(september, household, add_line)

    september.lines.all().delete()
    line = reissue(make_batch(datetime.date(2024, 10, 1)), household, add_line)

    assert PaymentLine.objects.get() == line


def test_what_a_line_pays_is_written_once_in_its_month_s_partition_too(
    make_batch, household, add_line
):
    partitions.ensure_months([AUGUST])
    line = add_line(make_batch(AUGUST), household, "900")
    assert partition_of(line) == "payments_paymentline_y2024m08"

    with pytest.raises(Exception, match="Cannot update"), transaction.atomic():
        PaymentLine.objects.filter(pk=line.pk).update(amount=Decimal("901"))
    PaymentLine.objects.filter(pk=line.pk).update(status=PaymentLine.Status.PAID)

    line.refresh_from_db()
    assert (line.amount, line.status) == (Decimal("900"), PaymentLine.Status.PAID)

"""Migration 0018: a table holding lines of several months becomes partitioned, and back."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from payments import partitions
from payments.models import PaymentBatch, PaymentLine
from tests.db import latest_migrations, migrate_to

pytestmark = [pytest.mark.postgres]

BEFORE = [("payments", "0017_failed_lines_after_review_counts")]
AFTER = [("payments", "0018_lines_partitioned_by_month")]
MONTHS = [datetime.date(2024, m, 1) for m in (5, 6, 7)]
COLUMNS = ("id", "batch_id", "month", "kind", "household_id", "source_ref", "amount", "status")


@pytest.fixture
def at_0017():
    migrate_to(BEFORE)
    yield
    migrate_to(latest_migrations())


def relation(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def lines() -> list[tuple]:
    return list(PaymentLine.objects.order_by("id").values_list(*COLUMNS))


@pytest.mark.django_db(transaction=True)
def test_a_table_of_several_months_becomes_their_partition_and_keeps_every_line(
    at_0017, make_batch, household, add_line
):
    for month in MONTHS:
        batch = make_batch(month)
        add_line(batch, household, "900")
        add_line(batch, household, "100", kind=PaymentLine.Kind.REISSUE, source_ref=f"r:{month}")
    add_line(batch, household, "40", kind=PaymentLine.Kind.BACK_PAY, month=MONTHS[0])
    before = lines()
    top = max(line[0] for line in before)

    migrate_to(AFTER)

    assert lines() == before
    assert relation(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'payments_paymentline'::regclass ORDER BY 1"
    ) == [
        ("payments_paymentline_default", "DEFAULT"),
        ("payments_paymentline_history", "FOR VALUES FROM (MINVALUE) TO ('2024-08-01')"),
    ]
    assert {
        r[0] for r in relation("SELECT DISTINCT tableoid::regclass::text FROM payments_paymentline")
    } == {"payments_paymentline_history"}
    # The months before the cut-over have their partition; the next one is made on demand.
    assert partitions.missing_months(MONTHS + [datetime.date(2024, 8, 1)]) == [
        datetime.date(2024, 8, 1)
    ]
    # The identity goes on above the lines there were; re-issues stay re-issued once.
    august = make_batch(datetime.date(2024, 8, 1))
    assert add_line(august, household, "900").pk > top
    with pytest.raises(IntegrityError, match="one_reissue_per_failed_transfer"):
        with transaction.atomic():
            add_line(
                august, household, "1", kind=PaymentLine.Kind.REISSUE, source_ref="r:2024-05-01"
            )

    after = lines()
    migrate_to(BEFORE)

    assert lines() == after
    assert relation("SELECT relkind FROM pg_class WHERE relname = 'payments_paymentline'") == [
        ("r",)
    ]
    with pytest.raises(IntegrityError, match="one_reissue_per_failed_transfer"):
        with transaction.atomic():
            add_line(
                august, household, "1", kind=PaymentLine.Kind.REISSUE, source_ref="r:2024-06-01"
            )
    assert PaymentBatch.objects.count() == 4

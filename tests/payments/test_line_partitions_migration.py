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


TAKES_INSERTS = [("payments", "0019_line_partitions_take_direct_inserts")]


def readied() -> dict[str, tuple]:
    """Each partition: (its statement-level insert triggers, its id's default)."""
    return {
        name: (tuple(sorted(filter(None, triggers))), default)
        for name, triggers, default in relation(
            "SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname), "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgparentid = 0 "
            "AND t.tgtype & 1 = 0 AND t.tgtype & 4 <> 0 "
            "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = 1 "
            "WHERE i.inhparent = 'payments_paymentline'::regclass GROUP BY 1, 3"
        )
    }


@pytest.mark.django_db(transaction=True)
def test_the_partitions_there_are_take_inserts_that_name_them_and_back(
    at_0017, make_batch, household, add_line
):
    for month in MONTHS:
        add_line(make_batch(month), household, "900")
    migrate_to(AFTER)
    partitions.ensure_months([datetime.date(2024, 8, 1)])
    top = max(line[0] for line in lines())

    migrate_to(TAKES_INSERTS)

    checks = ("doudi_frozen_lines_insert", "payments_line_references_exist")
    checks += ("payments_reissued_once_insert",)
    sequence = "nextval('payments_paymentline_id_seq'::regclass)"
    assert readied() == {
        name: (checks, sequence)
        for name in ("default", "history", "y2024m08")
        for name in [f"payments_paymentline_{name}"]
    }
    august = make_batch(datetime.date(2024, 8, 1), status=PaymentBatch.Status.COMPUTING)
    line = add_line(august, household, "900")
    copy = (
        "INSERT INTO {} (batch_id, month, kind, household_id, region_code, category, source_ref, "
        "amount, explanation_ref_id, bank_name, bank_account_holder, bank_account_number, "
        "status, failure_reason) SELECT batch_id, %s, 'relief_instalment', {}, region_code, "
        "category, '', 1, explanation_ref_id, '', '', '', 'pending', '' "
        "FROM payments_paymentline WHERE id = %s RETURNING id"
    )
    (made,) = relation(
        copy.format("payments_paymentline_y2024m08", "household_id"), ["2024-08-01", line.pk]
    )
    assert made[0] > line.pk > top
    with pytest.raises(IntegrityError, match="missing household"), transaction.atomic():
        relation(copy.format("payments_paymentline_history", "987654321"), ["2024-05-01", line.pk])

    migrate_to(AFTER)

    assert set(readied().values()) == {((), None)}
    assert partitions.ensure_months([datetime.date(2024, 9, 1)]) == [
        "payments_paymentline_y2024m09"
    ]

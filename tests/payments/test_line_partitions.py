"""Payment lines are partitioned by month (PostgreSQL, migration 0018, payments.partitions)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from payments import batches, partitions, payroll_io, tasks
from payments.models import PaymentBatch, PaymentLine
from tests.db import as_owner
from tests.payments.conftest import AUGUST, line_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

JULY = datetime.date(2024, 7, 1)
SEPTEMBER = datetime.date(2024, 9, 1)
FAR = datetime.date(2031, 1, 1)
KINDS = (PaymentLine.Kind.RELIEF_INSTALMENT, PaymentLine.Kind.PRICE_SUBSIDY)


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


def insert_triggers(table: str) -> dict[str, str]:
    """The statement-level insert triggers of ``table``: name → definition, the table's name
    taken out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname, regexp_replace(pg_get_triggerdef(oid), ' ON \\S+ ', ' ON _ ') "
            "FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
            "AND tgparentid = 0 AND tgtype & 1 = 0 AND tgtype & 4 <> 0",
            [table],
        )
        return dict(cursor.fetchall())


def test_every_partition_checks_an_insert_that_names_it_as_the_parent_does():
    partitions.ensure_months([AUGUST, FAR])
    checks = insert_triggers("payments_paymentline")
    assert set(checks) == {
        "payments_line_references_exist",
        "doudi_frozen_lines_insert",
        "payments_reissued_once_insert",
    }

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text, pg_get_expr(d.adbin, d.adrelid) "
            "FROM pg_inherits LEFT JOIN pg_attrdef d ON d.adrelid = inhrelid AND d.adnum = 1 "
            "WHERE inhparent = 'payments_paymentline'::regclass"
        )
        made = dict(cursor.fetchall())
    assert {"payments_paymentline_default", "payments_paymentline_y2024m08"} <= set(made)
    for partition, id_default in made.items():
        assert insert_triggers(partition) == checks, partition
        # The parent's ids: a partition has no identity of its own.
        assert id_default == "nextval('payments_paymentline_id_seq'::regclass)", partition


def copy_row(batch, household, **changes) -> tuple:
    values = {"household_id": household.pk, "region_code": household.region_code}
    return line_row(batch, **(values | changes))


def test_a_chunk_s_lines_are_copied_into_their_month_s_partition_when_it_has_one(
    make_batch, household
):
    partitions.ensure_months([AUGUST])
    august, september = make_batch(AUGUST), make_batch(SEPTEMBER)

    assert payroll_io._copy_target([copy_row(august, household)] * 2) == (
        "payments_paymentline_y2024m08"
    )
    # A month with no partition, or rows of two months: the parent routes them.
    assert payroll_io._copy_target([copy_row(september, household)]) == "payments_paymentline"
    mixed = [copy_row(august, household), copy_row(september, household)]
    assert payroll_io._copy_target(mixed) == "payments_paymentline"
    # A partition without the parent's insert checks is never named.
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER payments_line_references_exist ON payments_paymentline_y2024m08"
        )
    assert payroll_io._copy_target([copy_row(august, household)]) == "payments_paymentline"


def test_lines_copied_into_a_partition_take_the_parent_s_ids(make_batch, household, add_line):
    partitions.ensure_months([AUGUST])
    batch = make_batch(AUGUST, status=PaymentBatch.Status.COMPUTING)
    first = add_line(batch, household, "100")
    explanation = first.explanation_ref_id

    payroll_io.insert_lines(
        [copy_row(batch, household, explanation_ref_id=explanation, kind=kind) for kind in KINDS]
    )
    last = add_line(batch, household, "300", kind=PaymentLine.Kind.BACK_PAY)

    ids = list(PaymentLine.objects.filter(batch=batch).order_by("id").values_list("id", flat=True))
    assert len(ids) == 4 and ids[0] == first.pk and ids[-1] == last.pk
    assert {partition_of(line) for line in PaymentLine.objects.all()} == {
        "payments_paymentline_y2024m08"
    }


@pytest.mark.parametrize(
    "changes, refused",
    [
        ({"household_id": 987654321}, "missing household: 987654321"),
        ({"explanation_ref_id": "f" * 64}, "missing explanation"),
        ({"kind": "reissue", "source_ref": "reissue:41:7"}, "one_reissue_per_failed_transfer"),
    ],
)
def test_an_insert_naming_a_partition_is_checked_as_one_naming_the_lines(
    make_batch, household, add_line, changes, refused
):
    partitions.ensure_months([AUGUST, SEPTEMBER])
    reissue(make_batch(SEPTEMBER), household, add_line)
    batch = make_batch(AUGUST, status=PaymentBatch.Status.COMPUTING)
    good = add_line(batch, household, "100")
    row = copy_row(batch, household, **{"explanation_ref_id": good.explanation_ref_id} | changes)
    columns = ", ".join(payroll_io.LINE_COLUMNS)
    values = ", ".join(["%s"] * len(row))

    with pytest.raises(IntegrityError, match=refused), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO payments_paymentline_y2024m08 ({columns}) VALUES ({values})", row
            )

    assert PaymentLine.objects.filter(batch=batch).count() == 1

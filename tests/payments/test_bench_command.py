"""The payroll benchmark of README runs on whatever database it is given and reports its figures
(it is a benchmark, not a test of speed: only what it prints is checked)."""

import datetime
import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from beneficiaries.models import Region
from casework.models import Adjustment, Enrolment
from casework.selectors import enrolments_in_force
from payments import partitions
from payments.management.commands.bench_payroll import (
    Command,
    drop_batch,
    make_same_shape_table,
    same_shape_floor,
)
from payments.models import PaymentBatch, PaymentLine
from payments.payroll_io import LINE_COLUMNS
from rules.models import Standard
from tests.db import as_owner, triggers_off
from tests.payments.conftest import AUGUST


@pytest.mark.django_db
def test_bench_payroll_in_process_computes_a_batch_and_ends_with_its_figures(settings):
    settings.CELERY_BROKER_URL = ""  # in-process: the workers it would start see no test data
    out = io.StringIO()

    # The synthetic caseload draws id ranges with setval: a benchmark tool of the database owner.
    with as_owner():
        call_command("bench_payroll", households=40, city="3211", stdout=out)

    lines = out.getvalue().strip().splitlines()
    batch = PaymentBatch.objects.get()
    assert batch.status == PaymentBatch.Status.COMPUTED
    assert batch.line_count == PaymentLine.objects.filter(batch=batch).count() > 0
    assert f"lines: {batch.line_count}  total: {batch.total_amount}" in lines
    [cpu] = [line for line in lines if line.startswith("cpu seconds during the batch: ")]
    assert float(cpu.split("this command ")[1].split(";")[0]) > 0  # computed in this process
    assert any(line.startswith("ratio to COPY floor: ") for line in lines)  # for reference
    [floor] = [line for line in lines if line.startswith("same-shape floor: ")]
    assert f"the batch's {batch.line_count} lines" in floor  # its own lines, every one
    assert lines[-3].startswith("households/s: ")
    assert float(lines[-2].removeprefix("ratio to same-shape floor: ")) > 0
    assert lines[-1] == "history months: 0"
    assert "bench_same_shape_floor" not in connection.introspection.table_names()


def shape_of(table: str) -> list[str]:
    """A table's indexes and constraints as PostgreSQL defines them, its own name and the
    indexes' names taken out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', "
            "'CREATE \\1INDEX ON') FROM pg_indexes WHERE tablename = %s "
            # A check added NOT VALID holds for new rows all the same.
            "UNION ALL SELECT contype::text || ' ' || "
            "regexp_replace(pg_get_constraintdef(oid), ' NOT VALID$', '') FROM pg_constraint "
            "WHERE conrelid = %s::regclass "
            "UNION ALL SELECT attname || ' ' || format_type(atttypid, atttypmod) || "
            "CASE WHEN attnotnull THEN ' not null' ELSE '' END || ' ' || attidentity::text "
            "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY 1",
            [table, table, table],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_same_shape_floors_table_has_the_line_tables_columns_indexes_and_constraints(
    regions, add_line, household, make_batch
):
    partitions.ensure_months([AUGUST])
    line = add_line(make_batch(AUGUST), household, "300.00")
    lines = PaymentLine._meta.db_table
    with as_owner():  # the benchmark's scratch table: the database owner's tool
        table = make_same_shape_table()

    # Shaped like the month's partition, which a batch's COPY fills; a partition's ids come
    # from its parent's identity, the floor's table has its own.
    month = [
        "id bigint not null d" if part == "id bigint not null " else part
        for part in shape_of("payments_paymentline_y2024m08")
    ]
    assert shape_of(table) == month
    assert any("UNIQUE" in part and "enrolment_id, kind, month" in part for part in shape_of(table))
    columns = ", ".join(LINE_COLUMNS)
    copy_line = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {lines} WHERE id = %s"
    with as_owner(), connection.cursor() as cursor:
        cursor.execute(copy_line, [line.pk])
        with pytest.raises(IntegrityError), transaction.atomic():  # the unique index holds
            cursor.execute(copy_line, [line.pk])


@pytest.mark.django_db
def test_the_same_shape_floor_copies_every_line_of_the_batch_and_leaves_no_table(
    regions, add_line, household, make_batch
):
    batch = make_batch(AUGUST)
    for kind in (PaymentLine.Kind.REGULAR, PaymentLine.Kind.PRICE_SUBSIDY):
        add_line(batch, household, "120.00", kind=kind, enrolment=household.enrolments.first())
    add_line(make_batch(AUGUST.replace(month=9)), household, "50.00")  # another batch's

    with as_owner():
        seconds, copied = same_shape_floor(batch, runs=2)  # the lines read once, copied twice

    assert copied == 2 and len(seconds) == 2 and all(s > 0 for s in seconds)
    assert "bench_same_shape_floor" not in connection.introspection.table_names()


@pytest.mark.django_db
def test_bench_payroll_stops_waiting_when_a_chunk_failed_for_good(regions):
    batch = PaymentBatch.objects.create(
        region=regions["zhenjiang"],
        month=datetime.date(2023, 8, 1),
        status=PaymentBatch.Status.COMPUTING,
        error="MissingParameter: orphan_institution_amount",
    )

    with pytest.raises(CommandError, match="orphan_institution_amount"):
        Command()._wait(batch, started=time.perf_counter(), timeout=600)


@pytest.mark.parametrize("status", [PaymentBatch.Status.FAILED, PaymentBatch.Status.APPROVED])
def test_a_failed_bench_batch_is_dropped_by_the_next_run_and_an_approved_one_is_not(
    regions, status
):
    batch = PaymentBatch.objects.create(
        region=regions["zhenjiang"], month=datetime.date(2024, 8, 1), status=status
    )

    if status == PaymentBatch.Status.APPROVED:
        with pytest.raises(CommandError, match="not a bench batch"):
            drop_batch(region=regions["zhenjiang"], month=batch.month)
        assert PaymentBatch.objects.filter(pk=batch.pk).exists()
    else:
        drop_batch(region=regions["zhenjiang"], month=batch.month)
        assert not PaymentBatch.objects.filter(pk=batch.pk).exists()


def timed_lines(batch: PaymentBatch) -> dict:
    return {
        (line.enrolment_id, line.household_id, line.kind, line.month): line.amount
        for line in PaymentLine.objects.filter(batch=batch)
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_history_months_are_approved_batches_that_leave_the_timed_batch_as_it_is(settings):
    settings.CELERY_BROKER_URL = ""  # in-process
    august, months = AUGUST, [datetime.date(2024, m, 1) for m in (5, 6, 7)]
    out = io.StringIO()

    with as_owner():
        call_command(
            "bench_payroll", households=2000, city="3211", history_months=3, seed=3, stdout=out
        )

    printed = out.getvalue().strip().splitlines()
    assert printed[-1] == "history months: 3"
    assert any(
        line.startswith("history: 3 months (2024-05 … 2024-07); built 3") for line in printed
    )
    city = Region.objects.get(code="321100000000")
    assert Standard.objects.filter(region=city, component="standard", effective_from=august)
    history = {b.month: b for b in PaymentBatch.objects.filter(month__in=months)}
    assert sorted(history) == months
    seed = history[months[-1]]  # computed by the batch services, then the others copied from it
    seed_enrolments = set(
        PaymentLine.objects.filter(batch=seed).values_list("enrolment_id", flat=True)
    )
    for month, batch in history.items():
        assert batch.status == PaymentBatch.Status.APPROVED
        assert batch.approved_by_id != batch.prepared_by_id
        lines = PaymentLine.objects.filter(batch=batch)
        assert batch.line_count == lines.count() > 0
        assert batch.total_amount == sum(lines.values_list("amount", flat=True))
        assert set(lines.values_list("month", flat=True)) == {month}
        # Lines only for the enrolments in force that month: none before an enrolment started.
        in_force = set(enrolments_in_force(region_prefix="3211", month=month).values_list("id"))
        assert (
            set(lines.values_list("enrolment_id", flat=True))
            == {i for (i,) in in_force} & seed_enrolments
        )
        adjustments = Adjustment.objects.filter(effective_month=month, reason_code="bench_history")
        started = Enrolment.objects.filter(start_month=month).count()
        assert adjustments.filter(kind=Adjustment.Kind.NEW).count() == started > 0
        assert adjustments.filter(kind=Adjustment.Kind.REVIEW_CONFIRMED).exists()
    assert history[months[0]].line_count < history[months[-1]].line_count  # a growing caseload
    with_history = PaymentBatch.objects.get(month=august)
    lines_with_history = timed_lines(with_history)
    assert lines_with_history and with_history.line_count == len(lines_with_history)

    again = io.StringIO()  # a second run reuses the history
    with as_owner():
        call_command(
            "bench_payroll", households=2000, city="3211", history_months=3, seed=3, stdout=again
        )
    assert "history: 3 months (2024-05 … 2024-07), all approved already" in again.getvalue()
    assert PaymentBatch.objects.filter(month__in=months).count() == 3
    assert timed_lines(PaymentBatch.objects.get(month=august)) == lines_with_history

    with triggers_off():  # the same caseload and standards without any history
        PaymentLine.objects.filter(batch__month__in=months).delete()
        PaymentBatch.objects.filter(month__in=months).delete()
        Adjustment.objects.filter(reason_code="bench_history").delete()
        call_command("bench_payroll", households=2000, city="3211", seed=3, stdout=io.StringIO())

    without_history = PaymentBatch.objects.get(month=august)
    assert timed_lines(without_history) == lines_with_history
    assert (without_history.line_count, without_history.total_amount) == (
        with_history.line_count,
        with_history.total_amount,
    )

"""Writes the synthetic caseload (seeds.caseload) in chunks: COPY on PostgreSQL, else executemany.

Each chunk is one transaction that also updates its GeneratedCaseload row, so a run cut short
leaves a consistent caseload and a record of the ID slots it used; the next run appends after it.
"""

import contextlib
import datetime
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pgtrigger
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from beneficiaries.facts import rebuild_household_facts
from beneficiaries.models import Household, HouseholdFactsPeriod, IncomeItem, Member
from casework.models import Adjustment, Enrolment
from casework.services import adjustment_counts
from core.db import without_triggers
from core.exceptions import Conflict
from core.months import first_of_month
from payments.models import PaymentBatch, PaymentLine
from rules.parameters import load_standards
from seeds.caseload import (
    ENROLMENT_FIELDS,
    HOUSEHOLD_FIELDS,
    INCOME_FIELDS,
    MEMBER_FIELDS,
    Drafter,
    IdSlots,
    Table,
    household_rows,
    merge_slots,
)
from seeds.models import GeneratedCaseload
from seeds.regions import city_standard, load_regions, villages_of

# The pghistory snapshot triggers of the tracked models. The generator writes synthetic benchmark
# data, not changes a user made, so it writes no history: a million households would otherwise
# add six million event rows. A superuser goes further and sets session_replication_role to
# replica for each chunk, which skips every trigger, foreign-key checks included: the generator
# links rows by ids it reserved itself in the same transaction (tests check the links), and the
# checks alone would triple the write time. Unique and check constraints still hold (they are
# indexes and row checks, not triggers).
HISTORY_INSERT_TRIGGERS = (
    "beneficiaries.Household:insert_insert",
    "beneficiaries.Member:insert_insert",
    "beneficiaries.IncomeItem:insert_insert",
    "casework.Enrolment:insert_insert",
)


def tables() -> dict[str, Table]:
    return {
        "household": Table.of(Household, HOUSEHOLD_FIELDS),
        "member": Table.of(Member, MEMBER_FIELDS),
        "income": Table.of(IncomeItem, INCOME_FIELDS),
        "enrolment": Table.of(Enrolment, ENROLMENT_FIELDS),
    }


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(table: str, count: int) -> range:
    """Take ``count`` consecutive ids from the table's id sequence (moving the sequence past them).

    The table is locked against other writers until the chunk commits: nobody else can draw from
    the sequence between our nextval and setval, so the range is ours alone.
    """
    if count == 0:
        return range(0)
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(table))
            )
            cursor.execute(
                "SELECT setval(seq, nextval(seq) + %s - 1) - %s + 1"
                " FROM pg_get_serial_sequence(%s, 'id') AS seq",
                [count, count, table],
            )
        else:
            # SQLite: the transaction's write lock serialises writers; AUTOINCREMENT follows.
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
        start = cursor.fetchone()[0]
    return range(start, start + count)


def can_skip_triggers() -> bool:
    """True when this role may set session_replication_role (superusers: the benchmark setup)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()[0]


def write_rows(table: Table, rows: Sequence[tuple]) -> None:
    if not rows:
        return
    if table.extra:
        rows = [row + table.extra for row in rows]
    with connection.cursor() as cursor:
        if is_postgres():
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns))
            )
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            columns = ", ".join(f'"{c}"' for c in table.columns)
            marks = ", ".join(["%s"] * len(table.columns))
            cursor.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)


def id_ranges(ids: Sequence[int], ranges: list[list[int]]) -> list[list[int]]:
    """Fold sorted ids into [first, last] ranges, extending the last range when contiguous."""
    for value in ids:
        if ranges and ranges[-1][1] + 1 == value:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


class CaseloadExists(Conflict):
    pass


@dataclass(frozen=True)
class Progress:
    households: int
    total: int
    seconds: float


def generate_caseload(
    *,
    city_code: str,
    households: int,
    seed: int,
    as_of: datetime.date | None = None,
    append: bool = False,
    reset: bool = False,
    chunk_size: int = 10_000,
    on_progress: Callable[[Progress], None] | None = None,
) -> GeneratedCaseload:
    """Create ``households`` synthetic households in the city's villages, with enrolments in force.

    Refuses (CaseloadExists) when the city already has generated data, unless ``append`` (add to
    it) or ``reset`` (delete it first). ``as_of`` (default: this month) is the month the ages and
    enrolments are drawn around: every enrolment started before it.
    """
    as_of = first_of_month(as_of or timezone.localdate())
    load_regions()
    load_standards()
    villages = villages_of(city_code)
    if not villages:
        raise Conflict(f"no villages under city {city_code}")
    if GeneratedCaseload.objects.filter(city_code=city_code).exists():
        if reset:
            delete_generated(city_code=city_code)
        elif not append:
            raise CaseloadExists(
                f"city {city_code} already has a generated caseload: pass --append or --reset"
            )
    earlier = list(GeneratedCaseload.objects.values_list("id_slots", "serial_end"))
    slots = IdSlots(merge_slots([taken for taken, _ in earlier]))
    drafter = Drafter(
        villages=villages,
        seed=seed,
        as_of=as_of,
        slots=slots,
        serial=max((end for _, end in earlier), default=0),
        standard=city_standard(city_code, as_of),
    )
    run = GeneratedCaseload.objects.create(
        city_code=city_code, seed=seed, as_of=as_of, households=0, members=0, incomes=0,
        enrolments=0, id_slots=slots.taken, serial_end=drafter.serial,
    )  # fmt: skip
    by_table = tables()
    now = timezone.now().isoformat()
    started = time.monotonic()
    ignore_history = pgtrigger.ignore(*HISTORY_INSERT_TRIGGERS) if is_postgres() else None
    skip_triggers = is_postgres() and can_skip_triggers()
    with ignore_history or contextlib.nullcontext():
        done = 0
        while done < households:
            drafts = [drafter.household() for _ in range(min(chunk_size, households - done))]
            with transaction.atomic():
                # reserve_ids runs first in the transaction: through Django's cursor it carries
                # pgtrigger's transaction-local ignore setting, which the COPYs below then see.
                rows = household_rows(drafts, reserve_ids, now)
                if skip_triggers:
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = replica")
                for name in ("household", "member", "income", "enrolment"):
                    write_rows(by_table[name], rows[name])
                if skip_triggers:
                    # Back to normal before anything else runs in this transaction (a caller's
                    # outer transaction included): later writes keep their history and checks.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = origin")
                rebuild_household_facts(household_ids=[row[0] for row in rows["household"]])
                run.households += len(rows["household"])
                run.members += len(rows["member"])
                run.incomes += len(rows["income"])
                run.enrolments += len(rows["enrolment"])
                id_ranges([row[0] for row in rows["household"]], run.household_id_ranges)
                run.id_slots = slots.taken
                run.serial_end = drafter.serial
                run.seconds = time.monotonic() - started
                run.save()
            done += len(drafts)
            if on_progress:
                on_progress(Progress(done, households, time.monotonic() - started))
    if is_postgres():
        with connection.cursor() as cursor:
            for table in by_table.values():
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table.name)))
    run.seconds = time.monotonic() - started
    run.save(update_fields=["seconds"])
    return run


def delete_generated(*, city_code: str) -> int:
    """Delete the city's generated households with their members, incomes, enrolments and any
    payment lines computed for them (then the city's batches left with no line). Returns the
    number of households deleted."""
    runs = list(GeneratedCaseload.objects.filter(city_code=city_code))
    deleted = 0
    batches: set[int] = set()
    # Synthetic batches may have been approved (the benchmarks approve them): their lines are
    # removed with the money triggers off, which needs the owner's superuser connection.
    with transaction.atomic(), without_triggers(), connection.cursor() as cursor:
        for run in runs:
            for first, last in run.household_id_ranges:
                span = [first, last, f"{city_code}%"]
                in_span = "household_id BETWEEN %s AND %s AND region_code LIKE %s"
                lines = PaymentLine._meta.db_table
                cursor.execute(f"SELECT DISTINCT batch_id FROM {lines} WHERE {in_span}", span)
                batches.update(row[0] for row in cursor.fetchall())
                cursor.execute(f"DELETE FROM {lines} WHERE {in_span}", span)
                # The benchmark's history adjustments (with the triggers off, their foreign key
                # would not stop the enrolments going).
                cursor.execute(
                    f"DELETE FROM {Adjustment._meta.db_table} WHERE enrolment_id IN "
                    f"(SELECT id FROM {Enrolment._meta.db_table} WHERE {in_span})",
                    span,
                )
                cursor.execute(f"DELETE FROM {Enrolment._meta.db_table} WHERE {in_span}", span)
                members = (
                    f"SELECT m.id FROM {Member._meta.db_table} m JOIN {Household._meta.db_table} h"
                    " ON h.id = m.household_id WHERE h.id BETWEEN %s AND %s"
                    " AND h.region_code LIKE %s"
                )
                cursor.execute(
                    f"DELETE FROM {HouseholdFactsPeriod._meta.db_table} WHERE household_id IN"
                    f" (SELECT id FROM {Household._meta.db_table}"
                    " WHERE id BETWEEN %s AND %s AND region_code LIKE %s)",
                    span,
                )
                cursor.execute(
                    f"DELETE FROM {IncomeItem._meta.db_table} WHERE member_id IN ({members})", span
                )
                cursor.execute(f"DELETE FROM {Member._meta.db_table} WHERE id IN ({members})", span)
                cursor.execute(
                    f"DELETE FROM {Household._meta.db_table}"
                    " WHERE id BETWEEN %s AND %s AND region_code LIKE %s",
                    span,
                )
                deleted += cursor.rowcount
        if connection.vendor == "postgresql":
            # With the triggers off, the re-issues' record (payments 0018) kept its rows.
            cursor.execute(
                f"DELETE FROM payments_reissued_transfer r WHERE NOT EXISTS "
                f"(SELECT 1 FROM {PaymentLine._meta.db_table} l WHERE l.id = r.line_id)"
            )
        PaymentBatch.objects.filter(pk__in=batches, lines__isnull=True).delete()
        GeneratedCaseload.objects.filter(pk__in=[run.pk for run in runs]).delete()
        if runs:
            # The adjustments went with the triggers off: the auditors' kept counts follow.
            adjustment_counts.recount(region_prefix=city_code)
    return deleted

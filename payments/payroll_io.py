"""Bulk reads and writes of the monthly batch: a chunk's facts in a few set-based queries, and its
lines written with COPY on PostgreSQL (bulk_create elsewhere).

Nothing here decides an amount: the engine does (rules.engine), fed from these rows.
"""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet

from beneficiaries.models import Household
from casework.facts import household_facts
from casework.selectors import enrolments_in_force
from payments import partitions
from payments.models import PaymentLine
from rules.engine import HouseholdFacts

# The columns a batch writes, in COPY order; every other column keeps its default.
LINE_COLUMNS = (
    "batch_id",
    "month",
    "kind",
    "enrolment_id",
    "household_id",
    "region_code",
    "category",
    "source_ref",
    "amount",
    "explanation_ref_id",
    "bank_name",
    "bank_account_holder",
    "bank_account_number",
    "status",
    "failure_reason",
)
_MONTH = LINE_COLUMNS.index("month")
BANK_FIELDS = ("bank_name", "bank_account_holder", "bank_account_number")


class EnrolmentRow(NamedTuple):
    """An enrolment in force with its household's bank account, as the chunk's query reads it
    (a named tuple: a million are made per batch)."""

    id: int
    household_id: int
    member_id: int | None
    category: str
    care_level: str
    status: str
    gradual_exit_amount: Decimal | None
    gradual_exit_from: datetime.date | None
    gradual_exit_until: datetime.date | None
    region_code: str
    bank_name: str
    bank_account_holder: str
    bank_account_number: str


# The last PAYROLL_CHUNK_SIZE enrolments of a batch of more than one chunk go in TAIL_PARTS
# smaller chunks, when each would still hold MIN_TAIL_PART or more: the workers then finish
# together, instead of one computing the last whole chunk while the others wait (on two
# workers, about half a chunk's time).
TAIL_PARTS = 4
MIN_TAIL_PART = 1000


def chunk_bounds(*, enrolments: QuerySet, size: int) -> list[tuple[int, int]]:
    """Split the enrolments into keyset ranges: [(first_id, last_id), ...], of ``size`` ids but
    for the last ``size`` of more than ``size``, which are split in TAIL_PARTS (see there).

    One query numbers the ids server-side and returns only every part's first id and the last
    id (no OFFSET, no ids shipped to Python).
    """
    parts = TAIL_PARTS if size >= TAIL_PARTS * MIN_TAIL_PART else 1
    step = size // parts
    inner, params = enrolments.order_by().values("id").query.sql_with_params()
    # LEAD finds the last id as the rows stream by; COUNT(*) OVER () would hold them all first.
    sql = (
        "SELECT id, rn FROM (SELECT id, ROW_NUMBER() OVER w AS rn, LEAD(id) OVER w IS NULL AS "
        f"last FROM ({inner}) ids WINDOW w AS (ORDER BY id)) numbered "
        "WHERE (rn - 1) %% %s = 0 OR last ORDER BY id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, step))
        marks = cursor.fetchall()
    if not marks:
        return []
    steps = [mark_id for mark_id, rn in marks if (rn - 1) % step == 0]
    if marks[-1][1] <= size:
        # One chunk's worth is one chunk: a province's small county, computed in the first
        # round of the batches computed together (compute_batches), stays so.
        starts = steps[:1]
    else:
        tail = len(steps) - parts
        starts = steps[:tail:parts] + steps[tail:]
    ends = [start - 1 for start in starts[1:]] + [marks[-1][0]]
    return list(zip(starts, ends, strict=True))


def read_enrolments(*, enrolments: QuerySet, first_id: int, last_id: int) -> list[EnrolmentRow]:
    """The chunk's enrolments in force with their household's bank account, never a scan of the
    whole household table, whatever its size. On PostgreSQL one query: each enrolment's
    household probed by its primary key (a lateral subquery, which the planner keeps a nested
    loop: joined plainly, it may hash the whole household table). Elsewhere two queries, the
    accounts read by id."""
    query = (
        enrolments.filter(id__gte=first_id, id__lte=last_id)
        .order_by("id")
        .values_list(*EnrolmentRow._fields[:10])
    )
    h = Household._meta.db_table
    bank_fields = ", ".join(BANK_FIELDS)
    # tuple.__new__: the named tuple made without _make's Python frame.
    make = tuple.__new__
    with connection.cursor() as cursor:
        # The queryset's own SQL, fetched as plain tuples (the ORM's row iteration costs more
        # than the query for 25,000 rows).
        inner, params = query.query.sql_with_params()
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT e.*, a.* FROM ({inner}) e CROSS JOIN LATERAL "
                f"(SELECT {bank_fields} FROM {h} h WHERE h.id = e.household_id LIMIT 1) a "
                "ORDER BY e.id",
                params,
            )
            return [make(EnrolmentRow, row) for row in cursor.fetchall()]
        # SQLite's dates are converted as the ORM would.
        cursor.execute(inner, params)
        rows = [
            (
                *row[:6],
                _as_decimal_or_none(row[6]),
                _as_date_or_none(row[7]),
                _as_date_or_none(row[8]),
                row[9],
            )
            for row in cursor.fetchall()
        ]
        cursor.execute(
            f"SELECT id, {bank_fields} FROM {h} WHERE {_in_ids('id')}",
            [_id_param({row[1] for row in rows})],
        )
        accounts = {household_id: account for household_id, *account in cursor.fetchall()}
    return [make(EnrolmentRow, (*row, *accounts[row[1]])) for row in rows]


def read_households(
    *, household_ids: set[int], month: datetime.date, coverage: bool = True
) -> dict[int, HouseholdFacts]:
    """Each household's facts for the month (rules.engine.HouseholdFacts): the members living
    in it on the month's first day with their age, counted income and the health facts in force
    in the month, and its enrolments in force where there are two or more (``coverage``).
    Without ``coverage`` those are left empty and not read: only the price subsidy reads them
    (rules.engine.subsidy_shares), so a month with no CPI rise recorded for the city needs none.

    One indexed query reads each household's row of facts for the month
    (beneficiaries.models.HouseholdFactsPeriod, kept in step by every change to a fact); no
    member, income, condition or move row is read. A household with no member in the month is
    absent.
    """
    households = household_facts(household_ids=household_ids, month=month)
    if not coverage:
        return households
    for household_id, found in read_coverage(household_ids=household_ids, month=month).items():
        if household_id in households:
            households[household_id] = households[household_id]._replace(coverage=found)
    return households


def read_coverage(*, household_ids: set[int], month: datetime.date) -> dict[int, tuple]:
    """Household id → its enrolments in force in the month, (id, member id, category) by id, for
    the households with two or more (as casework.selectors.coverage_in_month): one query, an
    index lookup per household."""
    inner, params = (
        enrolments_in_force(region_prefix="", month=month)
        .values_list("household_id", "id", "member_id", "category")
        .order_by()
        .query.sql_with_params()
    )
    sql = (
        f"SELECT * FROM ({inner}) e WHERE {_in_ids('e.household_id')} ORDER BY e.household_id, e.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, _id_param(household_ids)))
        rows = cursor.fetchall()
    by_household: dict[int, list] = {}
    for household_id, enrolment_id, member_id, category in rows:
        by_household.setdefault(household_id, []).append((enrolment_id, member_id, category))
    return {hid: tuple(found) for hid, found in by_household.items() if len(found) > 1}


def tune_chunk_session() -> None:
    """Per chunk transaction on PostgreSQL: the workers already use every core, so a parallel
    plan only adds overhead, and compiling a plan (JIT) costs more than running it. No Memoize
    node: the chunk's probes by household id rarely repeat an id (3 % of a chunk's enrolments
    share a household), so caching them only adds its own cost (PostgreSQL 0.45 CPU-s more
    over a 1M batch's enrolment reads).

    The commit does not wait for its WAL to reach the disk (synchronous_commit off): a chunk's
    lines and its done mark commit together, so a crash that loses the last commits loses whole
    chunks, which stay pending and are queued again by the stalled-batch resume; nothing is
    half-written and nothing is paid twice. Every other transaction keeps the server's setting.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off; "
                "SET LOCAL enable_memoize = off; SET LOCAL synchronous_commit = off"
            )


def insert_lines(rows: list[tuple]) -> None:
    """Insert lines given as tuples in LINE_COLUMNS order, their explanations already stored
    (payments.explanations.store):
    on PostgreSQL in one COPY, the text payload built directly (amounts are already text);
    elsewhere with bulk_create."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        PaymentLine.objects.bulk_create(
            (PaymentLine(**dict(zip(LINE_COLUMNS, row, strict=True))) for row in rows),
            batch_size=500,
        )
        return
    columns = ", ".join(LINE_COLUMNS)
    table = _copy_target(rows)
    # The raw psycopg COPY, its errors translated to Django's (IntegrityError for a missing
    # reference, OperationalError for a lost connection, which tasks retry).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for block in _copy_blocks(rows):
            copy.write(block)


def _copy_target(rows: list[tuple]) -> str:
    """The table a COPY of ``rows`` names: when they all pay one month, that month's partition
    if it has one, else the lines' table, which routes each row to its partition. PostgreSQL
    writes a COPY's rows in batches into a table that is not partitioned, but one by one into a
    partitioned table whose insert triggers read the statement's new rows (the reference check,
    the frozen-batch and re-issue guards); each partition has the same triggers for a statement
    that names it (migration 0019)."""
    months = {row[_MONTH] for row in rows}
    if len(months) == 1:
        (month,) = months
        if not isinstance(month, datetime.date):
            month = datetime.date.fromisoformat(month)
        partition = partitions.month_partition(month)
        if partition:
            return partition
    return PaymentLine._meta.db_table


def copy_text(value) -> str:
    """A value in COPY text format: NULL as \\N, backslash and control characters escaped."""
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


_ROW_FORMAT = "\t".join(["%s"] * len(LINE_COLUMNS)) + "\n"
_FIELD_SEPARATORS = len(LINE_COLUMNS) - 1


def row_text(row: tuple) -> str:
    """One line row as a line of COPY text.

    Fast path (a million rows per batch): format the values as they are, then check the result;
    only a row holding a NULL, or a tab, newline, carriage return or backslash in some value, is
    escaped value by value.
    """
    if None not in row:
        text = _ROW_FORMAT % row
        if (
            text.count("\t") == _FIELD_SEPARATORS
            and text.count("\n") == 1
            and "\\" not in text
            and "\r" not in text
        ):
            return text
    return "\t".join(map(copy_text, row)) + "\n"


def row_from_values(batch_id: int, values: tuple) -> tuple:
    """A line row (LINE_COLUMNS order) from a line's values read back with the ORM."""
    return (batch_id, *values)


def _copy_blocks(rows: list[tuple], block_rows: int = 5000) -> Iterator[str]:
    """The rows as COPY text, in blocks. Fast path, as row_text's but checked once per block:
    each row formatted as it is, then the block holds as many newlines as rows and as many tabs
    as its rows have separators, no backslash, no carriage return and no "None" (how a NULL would
    read). Any doubt, even a value that merely holds the word, and the block is made row by
    row (row_text)."""
    for start in range(0, len(rows), block_rows):
        block = rows[start : start + block_rows]
        text = "".join([_ROW_FORMAT % row for row in block])
        if (
            text.count("\n") == len(block)
            and text.count("\t") == _FIELD_SEPARATORS * len(block)
            and "\\" not in text
            and "\r" not in text
            and "None" not in text
        ):
            yield text
        else:
            yield "".join(map(row_text, block))


def _in_ids(column: str) -> str:
    """``column`` is one of a set of ids given as one parameter, whatever the number of ids.
    On PostgreSQL ``= ANY(array)`` keeps the plan an index lookup per id."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"


def _id_param(ids: set[int]) -> str:
    """The ids as one array literal (PostgreSQL) or JSON array (SQLite): a string is sent as it
    is, where a list of 25,000 ints is adapted one by one."""
    text = ",".join(map(str, sorted(ids)))
    return "{" + text + "}" if connection.vendor == "postgresql" else "[" + text + "]"


def _as_decimal(value) -> Decimal:
    # SQLite hands a decimal column back as int or float: back through its text, whose shortest
    # form is the stored decimal, never through float arithmetic.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _as_decimal_or_none(value) -> Decimal | None:
    return None if value is None else _as_decimal(value)


def _as_date_or_none(value) -> datetime.date | None:
    return None if value is None else _as_date(value)


def _as_date(value) -> datetime.date:
    # SQLite hands raw SQL dates back as text.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)

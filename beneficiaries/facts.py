"""Each household's facts by month (beneficiaries.models.HouseholdFactsPeriod), kept in step with
the registry: one service writes them, called in the transaction of every change to a fact.

A month's facts are the members living in the household on the month's first day (alive, not yet
moved out, already moved in), each with the income items valid on any day of the month (counted
types added, deductible costs subtracted) and the health facts in force in the month (the latest
MemberCondition by then, else the Member row's). They change only at a few months: where an
income item starts or ends, a condition takes effect, a member dies or moves. The timeline is
evaluated at each of those months and stored as runs of equal months, so the monthly batch reads
one narrow row per household instead of joining members, incomes, conditions and moves.
"""

import datetime
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, models, transaction

from beneficiaries.models import (
    COUNTED_INCOME,
    DEDUCTED_COSTS,
    FACTS_SINCE,
    Household,
    HouseholdFactsPeriod,
    IncomeItem,
    Member,
    MemberCondition,
    MemberMove,
)
from core.months import add_months, first_of_month, next_month

# Households rebuilt per round of reads (each round is five queries).
CHUNK = 2000
ONE_DAY = datetime.timedelta(days=1)

# A member's facts in a run of months, as stored: (id, birth ISO, income text, serious illness,
# grade, category, care level).
MemberEntry = tuple[int, str, str, bool, int | None, str, str]


def refresh_household_facts(*, household_ids: Iterable[int]) -> None:
    """Rewrite these households' facts by month from the registry (whole timelines: an edit of
    the Member row changes every month that has no recorded condition, so no month is safe to
    keep). Call it in the transaction that changed a fact of theirs, after the change.

    Each household's row is locked first, in id order, so two changes to one household rewrite
    its rows one after the other, the second reading the first's committed change.
    """
    ids = sorted(set(household_ids))
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            list(
                Household.objects.filter(pk__in=chunk)
                .order_by("pk")
                .select_for_update()
                .values_list("pk", flat=True)
            )
            periods = household_timelines(household_ids=chunk)
            HouseholdFactsPeriod.objects.filter(household_id__in=chunk).delete()
            HouseholdFactsPeriod.objects.bulk_create(
                (
                    HouseholdFactsPeriod(
                        household_id=household_id,
                        valid_from=valid_from,
                        valid_until=valid_until,
                        members=[list(entry) for entry in members],
                    )
                    for household_id, valid_from, valid_until, members in periods
                ),
                batch_size=1000,
            )


def refresh_member_households(*, member_ids: Iterable[int]) -> None:
    """refresh_household_facts for the households of these member rows."""
    refresh_household_facts(
        household_ids=Member.objects.filter(pk__in=list(member_ids))
        .values_list("household_id", flat=True)
        .distinct()
    )


def household_timelines(
    *, household_ids: Iterable[int]
) -> list[tuple[int, datetime.date, datetime.date | None, tuple[MemberEntry, ...]]]:
    """(household id, valid_from, valid_until, members) runs of each household, from the
    registry: five queries whatever the number of households, then plain Python."""
    ids = list(household_ids)
    members = list(
        Member.objects.filter(household_id__in=ids)
        .order_by("household_id", "pk")
        .values_list(
            "pk",
            "household_id",
            "birth_date",
            "is_alive",
            "death_date",
            "is_active",
            "serious_illness",
            "disability_grade",
            "disability_category",
        )
    )
    incomes = defaultdict(list)
    for row in IncomeItem.objects.filter(member__household_id__in=ids).values_list(
        "member_id", "type", "monthly_amount", "valid_from", "valid_to"
    ):
        incomes[row[0]].append(row[1:])
    conditions = defaultdict(list)
    for member_id, effective, *facts in (
        MemberCondition.objects.filter(member__household_id__in=ids)
        .order_by("member_id", "effective_month")
        .values_list(
            "member_id",
            "effective_month",
            "serious_illness",
            "disability_grade",
            "disability_category",
            "care_level",
        )
    ):
        conditions[member_id].append((effective, tuple(facts)))
    moved_out = defaultdict(list)
    for member_id, moved_on in MemberMove.objects.filter(
        from_member__household_id__in=ids
    ).values_list("from_member_id", "moved_on"):
        moved_out[member_id].append(moved_on)
    moved_in = defaultdict(list)
    for member_id, moved_on in MemberMove.objects.filter(
        to_member__household_id__in=ids
    ).values_list("to_member_id", "moved_on"):
        moved_in[member_id].append(moved_on)

    by_household = defaultdict(list)
    for row in members:
        by_household[row[1]].append(row)
    periods = []
    for household_id in ids:
        people = [
            _Person(row, incomes[row[0]], conditions[row[0]], moved_out[row[0]], moved_in[row[0]])
            for row in by_household.get(household_id, ())
        ]
        periods.extend(_timeline(household_id, people))
    return periods


def _ceil_month(day: datetime.date) -> datetime.date:
    """The first month whose first day is on or after ``day``."""
    return day if day.day == 1 else next_month(day)


class _Person:
    """A member row with its dated facts, answering for any month (first day) as the batch's
    join did."""

    __slots__ = ("row", "incomes", "conditions", "moved_out", "moved_in")

    def __init__(self, row, incomes, conditions, moved_out, moved_in):
        self.row = row
        self.incomes = incomes
        self.conditions = conditions
        self.moved_out = moved_out
        self.moved_in = moved_in

    def changes(self) -> set[datetime.date]:
        """The months from which this member's facts may differ from the month before."""
        _id, _h, _birth, _alive, death, *_rest = self.row
        months = set()
        if death is not None:
            months.add(_ceil_month(death + ONE_DAY))
        months.update(_ceil_month(day) for day in self.moved_out + self.moved_in)
        for _type, _amount, valid_from, valid_to in self.incomes:
            months.add(first_of_month(valid_from))
            if valid_to is not None:
                months.add(_ceil_month(valid_to + ONE_DAY))
        months.update(_ceil_month(effective) for effective, _facts in self.conditions)
        return months

    def entry(self, month: datetime.date) -> MemberEntry | None:
        """The member's facts in the month, or None when not living in the household then."""
        member_id, _h, birth, alive, death, active, ill, grade, category = self.row
        if not (alive or (death is not None and death >= month)):
            return None
        if not (active or any(day > month for day in self.moved_out)):
            return None
        if any(day > month for day in self.moved_in):
            return None
        income = Decimal(0)
        last_day = add_months(month, 1) - ONE_DAY
        for income_type, amount, valid_from, valid_to in self.incomes:
            if valid_from <= last_day and (valid_to is None or valid_to >= month):
                if income_type in COUNTED_INCOME:
                    income += amount
                elif income_type in DEDUCTED_COSTS:
                    income -= amount
        facts = (ill, grade, category, "")
        for effective, recorded in self.conditions:
            if effective > month:
                break
            facts = recorded
        ill, grade, category, care = facts
        return (member_id, birth.isoformat(), str(income), bool(ill), grade, category or "", care)


def _timeline(household_id: int, people: list[_Person]):
    months = {FACTS_SINCE}
    for person in people:
        months.update(month for month in person.changes() if month > FACTS_SINCE)
    runs: list[list] = []
    for month in sorted(months):
        members = tuple(e for e in (p.entry(month) for p in people) if e is not None)
        if runs and runs[-1][1] == members:
            continue
        runs.append([month, members])
    for (valid_from, members), following in itertools.zip_longest(runs, runs[1:]):
        valid_until = None if following is None else add_months(following[0], -1)
        yield household_id, valid_from, valid_until, members


def facts_rows_for_month(*, household_ids: Iterable[int], month: datetime.date) -> list[tuple]:
    """(household id, members) of each of these households in the month (a first day): one
    indexed query, one row per household (none for a month before FACTS_SINCE). ``members`` as
    stored (HouseholdFactsPeriod.members)."""
    table = HouseholdFactsPeriod._meta.db_table
    ids = sorted(set(household_ids))
    if not ids:
        return []
    if connection.vendor == "postgresql":
        # One backward step of the (household, valid_from) index per household: the latest row
        # starting by M is the one holding M (the rows tile the months). Written as a lateral
        # join so the plan cannot turn into a scan of the whole table. ``members`` is json: as
        # text it is the stored text, unconverted (psycopg would decode json itself).
        sql = (
            "SELECT f.household_id, f.members::text FROM unnest(%s::bigint[]) AS h(id) "
            f"CROSS JOIN LATERAL (SELECT household_id, members, valid_until FROM {table} "
            "WHERE household_id = h.id AND valid_from <= %s ORDER BY valid_from DESC LIMIT 1) f "
            "WHERE f.valid_until IS NULL OR f.valid_until >= %s"
        )
        param = "{" + ",".join(map(str, ids)) + "}"
    else:
        sql = (
            f"SELECT household_id, members FROM {table} "
            "WHERE household_id IN (SELECT value FROM json_each(%s)) AND valid_from <= %s "
            "AND (valid_until IS NULL OR valid_until >= %s)"
        )
        param = "[" + ",".join(map(str, ids)) + "]"
    with connection.cursor() as cursor:
        cursor.execute(sql, [param, month, month])
        rows = cursor.fetchall()
    # The members arrive as text (selected as text on PostgreSQL, stored as text elsewhere). The
    # rows' texts are decoded in one call, as one JSON array: per call, the decoder's set-up
    # cost as much as decoding a household's members.
    texts = [members for _, members in rows]
    if all(isinstance(members, str) for members in texts):
        decoded = json.loads("[" + ",".join(texts) + "]") if texts else []
    else:
        decoded = [json.loads(m) if isinstance(m, str) else m for m in texts]
    return [(row[0], members) for row, members in zip(rows, decoded, strict=True)]


def rebuild_household_facts(
    *,
    first_id: int | None = None,
    last_id: int | None = None,
    household_ids: Iterable[int] | None = None,
) -> int:
    """Rewrite the facts of every household, of those with ids in [first_id, last_id], or of
    ``household_ids``, from the registry; returns the number of rows written. On PostgreSQL
    set-based, one INSERT ... SELECT per range of households (the same months and facts as
    :func:`household_timelines`: a test holds the two equal); elsewhere through
    :func:`refresh_household_facts`. For bulk writes (migrations, generators, the repair
    command): it takes no lock, so it is not for households that services may be changing."""
    households = Household.objects.order_by("pk")
    if household_ids is not None:
        households = households.filter(pk__in=list(household_ids))
    if first_id is not None:
        households = households.filter(pk__gte=first_id)
    if last_id is not None:
        households = households.filter(pk__lte=last_id)
    if connection.vendor != "postgresql":
        refresh_household_facts(household_ids=households.values_list("pk", flat=True))
        return HouseholdFactsPeriod.objects.filter(household__in=households).count()
    if household_ids is not None:
        spans = [list(households.values_list("pk", flat=True))]
    else:
        bounds = households.aggregate(low=models.Min("pk"), high=models.Max("pk"))
        if bounds["low"] is None:
            return 0
        spans = [
            (low, min(low + REBUILD_RANGE - 1, bounds["high"]))
            for low in range(bounds["low"], bounds["high"] + 1, REBUILD_RANGE)
        ]
    written = 0
    table = HouseholdFactsPeriod._meta.db_table
    with connection.cursor() as cursor:
        for span in spans:
            if isinstance(span, list):
                where, params = "= ANY(%s::bigint[])", [span]
            else:
                where, params = "BETWEEN %s AND %s", list(span)
            with transaction.atomic():
                cursor.execute(f"DELETE FROM {table} WHERE household_id {where}", params)
                # Positional parameters only: pgtrigger's ignore() (the generators') adds its own.
                cursor.execute(_rebuild_sql(where), params * 2)
                written += cursor.rowcount
    return written


# Households per statement of the set-based rebuild.
REBUILD_RANGE = 100_000


def _rebuild_sql(where: str) -> str:
    """The timelines of the households whose id is ``where``, as one INSERT ... SELECT: the
    months where a fact may change, each member's facts evaluated at each (the batch's former
    join, row for row), gathered per household and month, equal neighbours dropped (gaps and
    islands). Computed in jsonb (json has no equality) and stored as jsonb's text."""
    h, m = Household._meta.db_table, Member._meta.db_table
    i, c = IncomeItem._meta.db_table, MemberCondition._meta.db_table
    mv, f = MemberMove._meta.db_table, HouseholdFactsPeriod._meta.db_table
    # The first month whose first day is on or after a day.
    ceil = "(date_trunc('month', {0} - 1) + interval '1 month')::date"
    # Constants of the code, written into the statement (the ids are its only parameters).
    since = f"DATE '{FACTS_SINCE.isoformat()}'"
    counted = "ARRAY[" + ", ".join(f"'{t!s}'" for t in sorted(COUNTED_INCOME)) + "]"
    deducted = "ARRAY[" + ", ".join(f"'{t!s}'" for t in sorted(DEDUCTED_COSTS)) + "]"
    return f"""
    WITH m AS (
        SELECT * FROM {m} WHERE household_id {where}
    ), points AS (
        SELECT id AS household_id, {since} AS month FROM {h}
        WHERE id {where}
        UNION
        SELECT household_id, month FROM (
            SELECT m.household_id, {ceil.format("m.death_date + 1")} AS month
            FROM m WHERE m.death_date IS NOT NULL
            UNION ALL
            SELECT m.household_id, {ceil.format("mv.moved_on")}
            FROM m JOIN {mv} mv ON mv.from_member_id = m.id OR mv.to_member_id = m.id
            UNION ALL
            SELECT m.household_id, date_trunc('month', i.valid_from)::date
            FROM m JOIN {i} i ON i.member_id = m.id
            UNION ALL
            SELECT m.household_id, {ceil.format("i.valid_to + 1")}
            FROM m JOIN {i} i ON i.member_id = m.id WHERE i.valid_to IS NOT NULL
            UNION ALL
            SELECT m.household_id, {ceil.format("c.effective_month")}
            FROM m JOIN {c} c ON c.member_id = m.id
        ) changes WHERE month > {since}
    ), entries AS (
        SELECT p.household_id, p.month, m.id,
               jsonb_build_array(
                   m.id, to_char(m.birth_date, 'YYYY-MM-DD'),
                   (SELECT COALESCE(SUM(CASE WHEN i.type = ANY({counted}) THEN i.monthly_amount
                                             WHEN i.type = ANY({deducted})
                                             THEN -i.monthly_amount END), 0)::text
                    FROM {i} i
                    WHERE i.member_id = m.id
                          AND i.valid_from <= (p.month + interval '1 month' - interval '1 day')
                          AND (i.valid_to IS NULL OR i.valid_to >= p.month)),
                   COALESCE(c.serious_illness, m.serious_illness),
                   CASE WHEN c.id IS NULL THEN m.disability_grade ELSE c.disability_grade END,
                   COALESCE(c.disability_category, m.disability_category),
                   COALESCE(c.care_level, '')
               ) AS entry
        FROM points p
        JOIN m ON m.household_id = p.household_id
              AND (m.is_alive OR m.death_date >= p.month)
              AND (m.is_active OR EXISTS (SELECT 1 FROM {mv} out
                                          WHERE out.from_member_id = m.id
                                                AND out.moved_on > p.month))
              AND NOT EXISTS (SELECT 1 FROM {mv} arrival
                              WHERE arrival.to_member_id = m.id AND arrival.moved_on > p.month)
        LEFT JOIN LATERAL (
            SELECT * FROM {c} c WHERE c.member_id = m.id AND c.effective_month <= p.month
            ORDER BY c.effective_month DESC LIMIT 1
        ) c ON true
    ), months AS (
        SELECT p.household_id, p.month,
               COALESCE(jsonb_agg(e.entry ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL),
                        '[]'::jsonb) AS members
        FROM points p
        LEFT JOIN entries e ON e.household_id = p.household_id AND e.month = p.month
        GROUP BY p.household_id, p.month
    ), changed AS (
        SELECT household_id, month, members,
               lag(members) OVER (PARTITION BY household_id ORDER BY month) AS before
        FROM months
    )
    INSERT INTO {f} (household_id, valid_from, valid_until, members)
    SELECT household_id, month,
           (lead(month) OVER (PARTITION BY household_id ORDER BY month)
            - interval '1 month')::date,
           members::json
    FROM changed WHERE before IS NULL OR before <> members
    """


def households_out_of_step(*, household_ids: Iterable[int] | None = None) -> list[int]:
    """The households whose stored facts by month differ from those rebuilt from the registry
    now (every household unless told): empty when every writer kept them in step. Chunks of
    CHUNK households, each rebuilt with :func:`household_timelines` and compared row for row."""
    if household_ids is None:
        household_ids = Household.objects.order_by("pk").values_list("pk", flat=True)
    ids = sorted(set(household_ids))
    differ = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        expected = defaultdict(list)
        for household_id, valid_from, valid_until, members in household_timelines(
            household_ids=chunk
        ):
            expected[household_id].append(
                (valid_from, valid_until, [list(entry) for entry in members])
            )
        stored = defaultdict(list)
        for household_id, *row in (
            HouseholdFactsPeriod.objects.filter(household_id__in=chunk)
            .order_by("household_id", "valid_from")
            .values_list("household_id", "valid_from", "valid_until", "members")
        ):
            stored[household_id].append(tuple(row))
        differ.extend(h for h in chunk if stored[h] != expected[h])
    return differ

"""The batch's former read of a household's facts for a month, kept as the reference the facts
by month (beneficiaries.facts) are held equal to: one join of members, income items, conditions
and moves, as the batch ran it before it read one narrow row per household."""

import datetime

from django.db import connection

from beneficiaries.models import (
    COUNTED_INCOME,
    DEDUCTED_COSTS,
    IncomeItem,
    Member,
    MemberCondition,
    MemberMove,
)
from casework.facts import age_on
from core.months import month_end
from payments.money import fen_sum_as_money, sql_money_sum
from payments.payroll_io import _as_date, _id_param, _in_ids, read_coverage
from rules.engine import HouseholdFacts, MemberFacts


def joined_households(
    *, household_ids: set[int], month: datetime.date
) -> dict[int, HouseholdFacts]:
    """Each household's facts for the month (rules.engine.HouseholdFacts): the members living
    in it on the month's first day (alive, not yet moved out, already moved in: as
    casework.facts.household_members_in_month) with their age and counted income.

    One query: the income items valid on any day of the month are summed server-side per member
    (counted types added, deductible costs subtracted), so no income row travels to Python; the
    health facts are those in force in the month (beneficiaries.models.MemberCondition: each
    member's latest row by then, found by an index lookup; the Member row's where none was
    recorded), the few rows found read in one more query. A household with no member in the
    month is absent.
    """
    counted = tuple(str(t) for t in COUNTED_INCOME)
    deducted = tuple(str(t) for t in DEDUCTED_COSTS)
    m, i, mv = Member._meta.db_table, IncomeItem._meta.db_table, MemberMove._meta.db_table
    c = MemberCondition._meta.db_table
    amount = sql_money_sum("i.monthly_amount", connection.vendor)
    sql = f"""
        SELECT m.household_id, m.id, m.birth_date,
               (SELECT COALESCE(SUM(CASE WHEN i.type IN ({_marks(counted)}) THEN {amount}
                                         WHEN i.type IN ({_marks(deducted)})
                                         THEN -{amount} END), 0)
                FROM {i} i
                WHERE i.member_id = m.id AND i.valid_from <= %s
                      AND (i.valid_to IS NULL OR i.valid_to >= %s)),
               m.serious_illness, m.disability_grade, m.disability_category,
               (SELECT c.id FROM {c} c WHERE c.member_id = m.id AND c.effective_month <= %s
                ORDER BY c.effective_month DESC LIMIT 1)
        FROM {m} m
        WHERE {_in_ids("m.household_id")}
              AND (m.is_alive OR m.death_date >= %s)
              AND (m.is_active OR EXISTS (SELECT 1 FROM {mv} out
                                          WHERE out.from_member_id = m.id AND out.moved_on > %s))
              AND NOT EXISTS (SELECT 1 FROM {mv} arrival
                              WHERE arrival.to_member_id = m.id AND arrival.moved_on > %s)
        ORDER BY m.household_id, m.id
    """
    params = (
        *counted,
        *deducted,
        month_end(month),
        month,
        month,
        _id_param(household_ids),
        month,
        month,
        month,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":  # SQLite: dates as text, sums in whole fen
        rows = [
            (hid, mid, _as_date(birth), fen_sum_as_money(income), bool(ill), grade, category, cid)
            for hid, mid, birth, income, ill, grade, category, cid in rows
        ]
    conditions = _read_conditions({row[7] for row in rows if row[7] is not None})
    # Ages repeat (a chunk's members share a few thousand birth dates): each computed once.
    ages: dict = {}
    households: dict[int, HouseholdFacts] = {}
    members: list[MemberFacts] = []
    current = None
    for hid, mid, birth, income, ill, grade, category, condition_id in rows:
        if hid != current:
            if members:
                households[current] = HouseholdFacts(current, tuple(members))
            current, members = hid, []
        age = ages.get(birth)
        if age is None:
            age = ages[birth] = age_on(birth, month)
        if condition_id is None:
            members.append(MemberFacts(mid, age, income, ill, grade, category))
        else:
            members.append(MemberFacts(mid, age, income, *conditions[condition_id]))
    if members:
        households[current] = HouseholdFacts(current, tuple(members))
    for household_id, coverage in read_coverage(household_ids=household_ids, month=month).items():
        if household_id in households:
            households[household_id] = households[household_id]._replace(coverage=coverage)
    return households


def _read_conditions(ids: set[int]) -> dict[int, tuple]:
    """Condition id → (serious illness, grade, category, care level), in MemberFacts order."""
    if not ids:
        return {}
    rows = MemberCondition.objects.filter(pk__in=ids).values_list(
        "pk", "serious_illness", "disability_grade", "disability_category", "care_level"
    )
    return {pk: tuple(condition) for pk, *condition in rows}


def _marks(values: tuple) -> str:
    return ", ".join(["%s"] * len(values))

"""The closing step's searches over a city's whole past are index lookups, not scans.

Looking for failed transfers to re-issue and for what was recorded since the approved months
read tables that grow every month (years of payment lines, adjustments, enrolments, members'
incomes and conditions). Each search has an index that holds just what it looks for (the failed
lines, the records by the time they were recorded); a change of the query's predicate that the
index no longer matches would bring back the scan of every month without changing a result.
PostgreSQL is asked how it would run each query the closing step sends, with sequential scans
priced out, on tables analysed with their rows recorded before the approval.
"""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from beneficiaries.models import Household, MemberCondition
from casework.models import Adjustment
from core.months import add_months
from payments.approval import approve_batch
from payments.corrections import late_records, reissue_lines
from payments.models import PaymentLine
from tests.db import triggers_off
from tests.factories import IncomeItemFactory
from tests.payments.conftest import make_household

JUL, AUG, SEP = (datetime.date(2024, m, 1) for m in (7, 8, 9))
# Tables that hold a city's whole past: a scan of one is a scan of every month.
GROWING = {
    "payments_paymentline",
    "casework_adjustment",
    "casework_enrolment",
    "beneficiaries_member",
    "beneficiaries_household",
    "beneficiaries_incomeitem",
    "beneficiaries_membercondition",
}
# Partial indexes whose predicate is the search: every row in them is a row sought.
WHAT_IS_SOUGHT = {"failed_lines_by_region", "member_death_recorded"}


def _scans(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child)


def _whole_past_reads(sql: str) -> list[str]:
    """How the query reads the table it searches (its first), when that is not a lookup of
    what it seeks: a sequential scan, an index read whole or bounded by the region alone (a
    city's every month). A lookup is its index of what is sought, by the time it was recorded,
    or an equality (the ids or references of what was found)."""
    searched = re.search(r'FROM "(\w+)"', sql).group(1)
    if searched not in GROWING:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    bad = []
    for node in _scans(plan[0]["Plan"]):
        table = node.get("Relation Name")
        if table != searched:
            continue
        index_scans = [node] if "Index Name" in node else []
        if node["Node Type"] == "Bitmap Heap Scan":
            index_scans = [n for n in _scans(node) if n["Node Type"] == "Bitmap Index Scan"]
        if not index_scans:
            bad.append(f"{node['Node Type']} on {table}")
        for scan in index_scans:
            condition = scan.get("Index Cond", "")
            if scan["Index Name"] in WHAT_IS_SOUGHT:
                continue
            if (
                not condition
                or "region_code" in condition
                or not re.search(r"created_at|updated_at| = ", condition)
            ):
                bad.append(f"{scan['Index Name']} ({condition or 'whole'})")
    return bad


@pytest.fixture
def a_past_with_a_failed_transfer(regions, make_batch, add_line, approver):
    """Three households paid in July and August (approved) after years of reviews and changes
    of their members' conditions; the bank
    refused one household's July transfer, whose account has since been corrected; an income
    recorded since."""
    enrolments = [
        make_household(regions["village_a1"], [Decimal(income), 0])
        for income in ("0", "300", "900")
    ]
    Adjustment.objects.bulk_create(
        Adjustment(
            enrolment=enrolment,
            region_code=enrolment.region_code,
            kind=Adjustment.Kind.REVIEW_CONFIRMED,
            reason_code="review",
            reason_text="复核维持",
            effective_month=add_months(JUL, -n),
        )
        for enrolment in enrolments
        for n in range(1, 301)
    )
    households = [enrolment.household for enrolment in enrolments]
    MemberCondition.objects.bulk_create(
        MemberCondition(
            member=member,
            effective_month=add_months(JUL, -n),
            serious_illness=n % 2 == 0,
            reason="病历",
        )
        for household in households
        for member in household.members.all()
        for n in range(1, 101)
    )
    for month in (JUL, AUG):
        batch = make_batch(month)
        for household in households:
            add_line(batch, household, "840")
        approve_batch(batch=batch, by=approver)
    refused = households[1]
    with triggers_off():
        PaymentLine.objects.filter(batch__month=JUL, household=refused).update(
            status=PaymentLine.Status.FAILED, failure_reason="账号不存在"
        )
    Household.objects.filter(pk=refused.pk).update(bank_account_number="6222020000000000099")
    IncomeItemFactory(member=households[2].members.first(), monthly_amount=Decimal("200"))
    with connection.cursor() as cursor:
        for table in sorted(GROWING):
            cursor.execute(f"ANALYZE {table}")
    return refused


def _sent(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        result = run()
    return result, [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]


def test_the_search_for_failed_transfers_reads_only_failed_lines(
    a_past_with_a_failed_transfer, make_batch
):
    lines, queries = _sent(lambda: reissue_lines(batch=make_batch(SEP)))

    assert [line.household_id for line in lines] == [a_past_with_a_failed_transfer.pk]
    assert [bad for sql in queries for bad in _whole_past_reads(sql)] == []


def test_the_records_since_an_approval_are_found_by_when_they_were_recorded(
    a_past_with_a_failed_transfer, regions
):
    august = a_past_with_a_failed_transfer.payment_lines.get(month=AUG).batch
    late, queries = _sent(
        lambda: late_records(region_prefix=regions["zhenjiang"].prefix, since=august.approved_at)
    )

    assert len(late.households) == 1
    assert len(queries) >= 5
    assert [bad for sql in queries for bad in _whole_past_reads(sql)] == []

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casework.models import Adjustment
from payments.models import PaymentBatch
from tests.factories import HouseholdFactory

JUL = datetime.date(2024, 7, 1)
AUG = datetime.date(2024, 8, 1)


@pytest.fixture
def two_months(regions, make_batch, add_line, make_user):
    proposer = make_user("caseworker", regions["town_a"], username="proposer")
    approver = make_user("county_approver", regions["zhenjiang"], username="county-approver")
    homes = [HouseholdFactory(village=regions["village_a1"]) for _ in range(3)]
    july = make_batch(JUL, status=PaymentBatch.Status.RECONCILED, line_count=2)
    august = make_batch(AUG, line_count=2)
    for batch, pair in ((july, homes[:2]), (august, homes[1:])):
        for household in pair:
            add_line(batch, household, "620.00")
    enrolment = homes[2].enrolments.get()
    Adjustment.objects.create(
        enrolment=enrolment,
        region_code=enrolment.region_code,
        kind="new",
        reason_code="new",
        reason_text="新纳入低保",
        effective_month=AUG,
        proposed_by=proposer,
        approved_by=approver,
    )
    return august


def test_bench_reads_times_every_kind_of_read_as_its_role(two_months):
    out = io.StringIO()

    call_command("bench_reads", city="3211", requests=3, stdout=out)

    printed = out.getvalue()
    for kind in (
        "batch review: first read (finance)",
        "batch review (finance)",
        "batch diff: new (finance)",
        "batch diff: stopped (finance)",
        "batch diff: changed (finance)",
        "adjustments: first page (auditor)",
        "adjustments: a month (auditor)",
        "adjustments: a household (auditor)",
        "household timeline (caseworker)",
        "household payment lines (caseworker)",
    ):
        (row,) = [line for line in printed.splitlines() if line.startswith(kind)]
        figures = row[len(kind) :].split()
        assert len(figures) == 7 and all(float(f) >= 0 for f in figures), row
    assert "2 batches (2024-07 … 2024-08), review and diff of the last 2, 1 adjustments" in printed
    assert "load average after:" in printed


def test_bench_reads_refuses_an_unbounded_run(two_months):
    with pytest.raises(CommandError, match="--requests"):
        call_command("bench_reads", city="3211", requests=100_000, stdout=io.StringIO())

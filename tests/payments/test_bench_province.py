"""The province benchmark computes every county's (or city's) batch of the month and prints each
(a benchmark, not a test of speed: only what it prints is checked)."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from payments.management.commands.bench_province import parse_sizes
from payments.models import BatchChunk, PaymentBatch, PaymentLine
from tests.db import as_owner


def test_households_are_given_per_city():
    assert parse_sizes("3211=300000, 3204=30000") == {"3211": 300000, "3204": 30000}
    for wrong in ("3211", "32=5", "3211=0", "3211=many"):
        with pytest.raises(CommandError):
            parse_sizes(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("one_by_one", [False, True])
def test_bench_province_computes_every_countys_batch_and_prints_each(settings, one_by_one):
    settings.CELERY_BROKER_URL = ""  # in-process: the workers it would start see no test data
    out = io.StringIO()

    with as_owner():  # the synthetic caseload draws id ranges: a tool of the database owner
        call_command(
            "bench_province",
            households="3211=120,3204=30",
            chunk_size=20,
            one_by_one=one_by_one,
            stdout=out,
        )

    printed = out.getvalue().strip().splitlines()
    computed = PaymentBatch.objects.filter(status=PaymentBatch.Status.COMPUTED)
    levels = set(computed.values_list("region__level", flat=True))
    assert levels == {"county"} and computed.count() > 2
    assert {b.region.code[:4] for b in computed} == {"3211", "3204"}
    rows = [line for line in printed if line.startswith("batch ")]
    assert len(rows) == computed.count()
    for batch in computed:
        [row] = [line for line in rows if line.startswith(f"batch {batch.region.code} ")]
        assert f"lines {batch.line_count}, total {batch.total_amount}" in row
        assert batch.line_count == PaymentLine.objects.filter(batch=batch).count()
    sizes = [int(re.search(r"enrolments (\d+)", row).group(1)) for row in rows]
    assert sizes == sorted(sizes, reverse=True)  # the biggest first
    assert f"lines: {sum(b.line_count for b in computed)}" in printed[-4]
    assert printed[-1].startswith("households/s: ")
    # Round-robin: every batch's first chunk starts before any batch's second one.
    if not one_by_one:
        chunks = BatchChunk.objects.order_by("started_at").values_list("batch_id", "number")
        firsts = [number for _batch, number in chunks][: computed.count()]
        assert firsts == [1] * computed.count()


@pytest.mark.django_db
def test_bench_payroll_after_bench_province_drops_the_county_batches_that_pay_the_same_people(
    settings,
):
    settings.CELERY_BROKER_URL = ""
    with as_owner():
        call_command(
            "bench_province", households="3211=120,3204=30", chunk_size=20, stdout=io.StringIO()
        )
        assert PaymentBatch.objects.filter(region__code__startswith="3211").count() > 1
        out = io.StringIO()
        call_command("bench_payroll", households=120, city="3211", stdout=out)

    zhenjiang = PaymentBatch.objects.filter(region__code__startswith="3211")
    [batch] = zhenjiang  # the city's own; its counties' batches of the month are gone
    assert (batch.region.level, batch.status) == ("city", PaymentBatch.Status.COMPUTED)
    assert batch.line_count == PaymentLine.objects.filter(batch=batch).count() > 0
    assert PaymentBatch.objects.filter(region__code__startswith="3204").count() > 1  # kept
    assert f"lines: {batch.line_count}" in out.getvalue()

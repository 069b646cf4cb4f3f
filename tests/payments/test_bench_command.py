"""The payroll benchmark of README runs on whatever database it is given and reports its figures
(it is a benchmark, not a test of speed: only what it prints is checked)."""

import datetime
import io
import time

import pytest
from django.core.management import CommandError, call_command

from payments.management.commands.bench_payroll import Command
from payments.models import PaymentBatch, PaymentLine
from tests.db import as_owner


@pytest.mark.django_db
def test_bench_payroll_in_process_computes_a_batch_and_ends_with_its_two_figures(settings):
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
    assert lines[-2].startswith("households/s: ")
    assert lines[-1].startswith("ratio to COPY floor: ")


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

"""run_payroll as `make demo` runs it: it says when no Celery worker will take the chunks, and
with --inline-without-worker computes them itself instead of leaving the batch waiting."""

import io
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from kombu.exceptions import OperationalError

from config.celery import app
from payments.models import PaymentBatch
from tests.payments.test_batch_worker import wait_until_computed

ARGS = ("run_payroll", "--month", "2024-08", "--region", "321102")


def run(*options) -> str:
    out = io.StringIO()
    call_command(*ARGS, *options, stdout=out)
    return out.getvalue()


@pytest.mark.broker
def test_without_a_worker_the_demo_computes_the_batch_here_and_says_how_to_start_one(caseload):
    app.control.purge()
    output = run("--if-absent", "--inline-without-worker")
    assert "No Celery worker answered within 3 s: computing the batch in this process" in output
    assert ".venv/bin/celery -A config worker -l info" in output
    batch = PaymentBatch.objects.get()
    assert (batch.status, batch.line_count, batch.total_amount) == ("computed", 7, Decimal("10301"))


@pytest.mark.broker
def test_without_a_worker_the_batch_is_said_to_wait_for_one(caseload):
    app.control.purge()
    output = run()
    assert "No Celery worker answered within 3 s: the batch waits in the queue" in output
    assert ".venv/bin/celery -A config worker -l info" in output
    assert PaymentBatch.objects.get().status == "computing"
    app.control.purge()


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_answers_takes_the_chunks(caseload):
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        output = run("--inline-without-worker")
        batch = wait_until_computed(PaymentBatch.objects.get())
    assert "chunks queued for 1 worker(s)" in output
    assert "computing the batch in this process" not in output
    assert not batch.chunks.filter(worker__startswith="inline/").exists()


def test_a_broker_that_does_not_answer_is_said_and_the_demo_computes_here(caseload, monkeypatch):
    def unreachable(timeout):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    app.conf.task_always_eager = False  # as with a broker; the eager_celery fixture restores it
    monkeypatch.setattr("payments.management.commands.run_payroll.answering_workers", unreachable)
    output = run("--inline-without-worker")
    assert "The Celery broker does not answer (Error 111" in output
    assert PaymentBatch.objects.get().status == "computed"

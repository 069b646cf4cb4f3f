"""The batch on real services: a Celery worker consuming from Redis, COPY into PostgreSQL."""

import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from payments import batches
from payments.models import PaymentBatch, PaymentLine, explanation_digest
from tests.payments.conftest import AUGUST, write_lines

pytestmark = [pytest.mark.postgres]


def wait_until_computed(batch: PaymentBatch, seconds: int = 60) -> PaymentBatch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.status == PaymentBatch.Status.COMPUTED:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch still {batch.status} after {seconds} s")


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_a_batch_end_to_end(regions, caseload):
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
        batches.compute_batch(batch=batch)
        batch = wait_until_computed(batch)

    lines = PaymentLine.objects.filter(batch=batch)
    assert sorted(lines.values_list("enrolment_id", flat=True)) == [e.pk for e in caseload]
    assert (batch.chunks_done, batch.line_count) == (3, 7)
    assert batch.total_amount == Decimal("10301")
    assert set(batch.chunks.values_list("status", flat=True)) == {"done"}
    assert all("/" in worker for worker in batch.chunks.values_list("worker", flat=True))


@pytest.mark.django_db
def test_copy_writes_lines_with_tabs_backslashes_and_json_intact(regions, caseload):
    batch = PaymentBatch.objects.create(region=regions["jingkou"], month=AUGUST)
    enrolment = caseload[0]
    explanation = (
        '{"steps":[{"formula":"","inputs":{},"result":"1","rule":"a\\\\b \\"quoted\\""}],'
        '"versions":{"standard":3}}'
    )
    digest = explanation_digest(explanation)
    row = (
        batch.pk,
        "2024-08-01",
        "regular",
        enrolment.pk,
        enrolment.household_id,
        enrolment.region_code,
        "dibao",
        "",
        "1725",
        digest,
        "江苏银行\t镇江\\分行",
        "张\n三",
        "6222020000000000006",
        "pending",
        "",
    )

    write_lines([row], {digest: explanation})

    line = PaymentLine.objects.get(batch=batch)
    assert line.amount == Decimal("1725")
    assert line.explanation == [
        {"rule": 'a\\b "quoted"', "formula": "", "inputs": {}, "result": "1"}
    ]
    assert line.parameter_versions == {"standard": 3}
    assert (line.bank_name, line.bank_account_holder) == ("江苏银行\t镇江\\分行", "张\n三")

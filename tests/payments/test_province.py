"""A province's batches for one month computed at once: their chunks shared out between the
batches, so that a small county's batch is not left waiting behind a big city's."""

from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from core.exceptions import Conflict
from payments import batches
from payments.models import BatchChunk, PaymentBatch, PaymentLine
from tests.payments.conftest import AUGUST, make_household
from tests.payments.test_batch_worker import wait_until_computed

JINGKOU_TOTAL = Decimal("10301")  # the caseload fixture's seven households, August 2024


def test_round_robin_takes_one_chunk_of_each_batch_in_turn():
    plans = [(1, [11, 12, 13, 14]), (2, [21, 22]), (3, [31]), (4, [])]

    assert batches.round_robin(plans) == [
        (1, 11), (2, 21), (3, 31), (1, 12), (2, 22), (1, 13), (1, 14),
    ]  # fmt: skip


@pytest.fixture
def province(regions, caseload):
    """京口区 (Zhenjiang): seven households, three chunks of three; 天宁区 (Changzhou): two, one
    chunk. The big batch first, as a queue in region order would have it."""
    for incomes in ([Decimal("0")], [Decimal("300"), Decimal("0")]):
        make_household(regions["village_c1"], incomes)
    return [
        batches.create_batch(region=regions[name], month=AUGUST, by=None)
        for name in ("jingkou", "tianning")
    ]


def chunk_order(batch_list) -> list[int]:
    """The batch of each chunk, in the order the chunks started."""
    return list(
        BatchChunk.objects.filter(batch__in=batch_list)
        .order_by("started_at")
        .values_list("batch_id", flat=True)
    )


@pytest.mark.django_db
def test_a_provinces_batches_are_computed_with_their_chunks_interleaved(
    province, django_capture_on_commit_callbacks
):
    big, small = province
    with django_capture_on_commit_callbacks(execute=True):
        batches.compute_batches(batches=[big, small])

    assert chunk_order(province) == [big.pk, small.pk, big.pk, big.pk]
    for batch, lines in ((big, 7), (small, 2)):
        batch.refresh_from_db()
        assert batch.status == PaymentBatch.Status.COMPUTED
        assert batch.line_count == PaymentLine.objects.filter(batch=batch).count() == lines
    assert big.total_amount == JINGKOU_TOTAL


@pytest.mark.django_db
def test_inline_the_small_batch_is_closed_before_the_big_one_goes_on(province):
    big, small = province

    batches.compute_batches(batches=[big, small], inline=True)

    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.status, small.status) == (PaymentBatch.Status.COMPUTED,) * 2
    second = BatchChunk.objects.get(batch=big, number=2)
    assert small.updated_at < second.started_at
    assert big.total_amount == JINGKOU_TOTAL


@pytest.mark.django_db
def test_a_province_is_refused_whole_when_one_batch_is_not_a_draft(province):
    big, small = province
    PaymentBatch.objects.filter(pk=small.pk).update(status=PaymentBatch.Status.COMPUTED)

    with pytest.raises(Conflict):
        batches.compute_batches(batches=[big, small], inline=True)

    big.refresh_from_db()
    assert big.status == PaymentBatch.Status.DRAFT
    assert not BatchChunk.objects.filter(batch=big).exists()


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_on_a_real_worker_the_small_batch_closes_before_the_big_ones_next_chunk(province):
    """One worker, chunks queued big, small, big, big: the small batch's closing step, queued
    when its only chunk is done, is served before the big batch's chunks still waiting."""
    big, small = province
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        batches.compute_batches(batches=[big, small])
        big, small = wait_until_computed(big), wait_until_computed(small)

    assert chunk_order(province) == [big.pk, small.pk, big.pk, big.pk]
    assert small.updated_at < BatchChunk.objects.get(batch=big, number=2).started_at
    assert big.total_amount == JINGKOU_TOTAL

"""Celery tasks of the monthly batch: a few lines each; the work is in payments.batches.

Every task is idempotent (its service checks the database row it works on), acknowledged late
and rejected back to the queue when its worker dies, and retried on transient database or
broker errors.
"""

import datetime
import os

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from payments import batches, partitions, review
from payments.batches import TRANSIENT

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 1,
    "retry_backoff_max": 20,
    "retry_jitter": True,
    "max_retries": 30,
}


@shared_task(bind=True, **RETRY)
def compute_chunk(self, chunk_id: int) -> bool:
    # An error no retry mends fails the batch with the reason (batches.run_chunk).
    return batches.run_chunk(
        chunk_id=chunk_id, worker=f"{self.request.hostname or 'local'}/{os.getpid()}"
    )


@shared_task(**RETRY)
def finalize_batch(batch_id: int) -> bool:
    closed = batches.finalize_batch(batch_id=batch_id)
    if closed:
        # The review is counted here, on a worker, not at the finance user's first reading
        # (tens of seconds once a city has years of lines); after the chunks of other batches.
        count_review.apply_async((batch_id,), priority=batches.CHUNK_PRIORITY)
    return closed


@shared_task(**RETRY)
def count_review(batch_id: int) -> bool:
    return review.keep_summary(batch_id=batch_id)


@shared_task(**RETRY)
def create_draft_batches() -> list[int]:
    """Beat, on PAYROLL_DRAFT_DAY: create this month's draft batch of every city."""
    return [batch.pk for batch in batches.create_draft_batches(month=timezone.localdate())]


@shared_task(**RETRY)
def resume_stalled_batches() -> list[int]:
    """Beat: queue again the unfinished chunks of batches that stopped progressing."""
    return batches.resume_stalled_batches(
        stalled_after=datetime.timedelta(seconds=settings.PAYROLL_STALL_SECONDS)
    )


@shared_task(**RETRY)
def ensure_line_partitions() -> list[str]:
    """Beat, daily: the payment lines' partitions of this month and the next twelve."""
    return partitions.ensure_ahead(today=timezone.localdate())

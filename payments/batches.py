"""The monthly payment batch: create it, compute it in keyset chunks, close it.

States moved here: draft → computing → computed, and computed → computing on a recompute. An
error no retry mends, in a chunk or in the closing step (a line the database refuses, a missing
standard, a bug), moves computing → failed with the reason in ``error``; once the cause is fixed,
resume (failed → computing) computes the chunks not done and closes the batch. Later moves
(approval, export, ...) belong to the review and bank services. Every move is a conditional
update on the batch row, so two callers never both win; pghistory records each move.

A chunk is one idempotent unit: its lines and its ``done`` mark commit in one transaction with the
chunk row locked, so a retried, duplicated or redelivered task changes nothing the second time,
and the unique (enrolment, kind, month) constraint backs this in the database. The chunk that
completes the count queues the closing step, which adds the batch-level lines and the totals.
"""

import contextlib
import datetime
import gc
import logging
import os
import time
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from beneficiaries.models import Region, User
from casework.selectors import enrolments_in_force
from core.exceptions import Conflict, DomainError
from core.months import first_of_month
from payments import explanations, partitions, payroll_io
from payments.corrections import correction_lines, settled_months
from payments.lines import LineBuilder, relief_lines
from payments.models import FROZEN, BatchChunk, PaymentBatch
from payments.money import MoneySum
from rules.selectors import cpi_rise_for

Status = PaymentBatch.Status
# Errors a retry may mend (a lost connection to the database or the broker); any other error in
# a chunk or the closing step fails the batch with the reason.
TRANSIENT = (OperationalError, InterfaceError, BrokerError, ConnectionError)
log = logging.getLogger(__name__)
# What a chunk's attempt writes on its row when it is done.
CHUNK_RESULT_FIELDS = (
    "status",
    "worker",
    "finished_at",
    "peak_rss_kb",
    "queries",
    "read_seconds",
    "compute_seconds",
    "write_seconds",
    "line_count",
    "total_amount",
)


def preparer(user: User | None) -> User | None:
    """The preparer of record a create or recompute by ``user`` leaves: a finance user, else
    nobody (beat, ``run_payroll``, an administrator), and then a finance user must submit the
    batch before it can be approved (payments.approval)."""
    return user if user is not None and user.role == User.Role.FINANCE else None


def create_batch(*, region: Region, month: datetime.date, by: User | None) -> PaymentBatch:
    """Create the draft batch of a city or county for a month: one per region and month.

    A second batch for the same region and month is refused; the database's unique constraint
    decides when two requests race. A finance user who creates it is its preparer of record.
    """
    month = first_of_month(month)
    if region.level not in (Region.Level.CITY, Region.Level.COUNTY):
        raise DomainError(_("发放批次只能按市或县(区)建立。"), field="region")
    if PaymentBatch.objects.filter(region=region, month=month).exists():
        raise Conflict(_("该地区本月的发放批次已存在。"))
    partitions.ensure_months([month])
    try:
        with transaction.atomic():
            return PaymentBatch.objects.create(region=region, month=month, prepared_by=preparer(by))
    except IntegrityError:
        raise Conflict(_("该地区本月的发放批次已存在。"))


def compute_batch(*, batch: PaymentBatch, inline: bool = False) -> PaymentBatch:
    """Start computing a draft batch: plan its chunks and queue one task per chunk.

    ``inline`` computes every chunk in this process instead (the embedded demo, ``--sync``).
    """
    return _start(batch=batch, allowed=(Status.DRAFT,), inline=inline)


def recompute_batch(*, batch: PaymentBatch, by: User | None, inline: bool = False) -> PaymentBatch:
    """Compute a computed (or failed) batch again from what is recorded now (the parameters,
    CPI and facts in force in its month); its lines are replaced, never added to. Whoever
    recomputes is the preparer of record from then on (a finance user; anyone else leaves none,
    so a finance user must submit it again): the lines are theirs.

    An approved (or later) batch is frozen: refused, nothing changes.
    """
    if batch.status in FROZEN:
        raise Conflict(_("批次已审批，数据已冻结，不能重新计算。"))
    return _start(
        batch=batch,
        allowed=(Status.COMPUTED, Status.FAILED),
        inline=inline,
        prepared_by=preparer(by),
    )


def resume_batch(*, batch: PaymentBatch, inline: bool = False) -> int:
    """Queue again every chunk of a computing or failed batch that is not done (a worker died,
    the broker lost its messages, the cause of a failure was fixed); queue the closing step when
    all are done. A failed batch moves back to computing first. Safe to call any time: chunks
    are idempotent. Returns the number of chunks queued (``inline``: computed here).
    """
    moved = PaymentBatch.objects.filter(
        pk=batch.pk, status__in=(Status.COMPUTING, Status.FAILED)
    ).update(status=Status.COMPUTING, error="", updated_at=timezone.now())
    if not moved:
        raise Conflict(_("只有计算中或计算失败的批次可以续算。"), code="not_resumable")
    pending = list(batch.chunks.exclude(status=BatchChunk.Status.DONE).values_list("pk", flat=True))
    if inline:
        _run_inline(pending, batch.pk)
    else:
        _queue(pending, batch.pk)
    return len(pending)


def resume_stalled_batches(*, stalled_after: datetime.timedelta) -> list[int]:
    """Resume computing batches where no chunk has finished for ``stalled_after`` (beat).

    A failed batch (its error is shown) is not computing: it waits for someone to fix the cause
    and resume it.
    """
    since = timezone.now() - stalled_after
    resumed = []
    stalled = PaymentBatch.objects.filter(status=Status.COMPUTING, updated_at__lt=since)
    for batch in stalled:
        resume_batch(batch=batch)
        resumed.append(batch.pk)
    return resumed


def create_draft_batches(*, month: datetime.date) -> list[PaymentBatch]:
    """Create the draft batch of every city with enrolments in force that has none (beat)."""
    month = first_of_month(month)
    cities = {
        code[:4]
        for code in enrolments_in_force(region_prefix="", month=month)
        .values_list("region_code", flat=True)
        .distinct()
    }
    created = []
    for region in Region.objects.filter(level=Region.Level.CITY).order_by("code"):
        if region.prefix not in cities:
            continue
        if PaymentBatch.objects.filter(region=region, month=month).exists():
            continue
        try:
            created.append(create_batch(region=region, month=month, by=None))
        except Conflict:
            continue
    return created


def batch_progress(*, batch: PaymentBatch) -> dict:
    """What an operator watches while a batch computes."""
    chunks = batch.chunks.aggregate(
        running=Count("pk", filter=Q(status=BatchChunk.Status.RUNNING)),
        lines=Sum("line_count"),
        attempts=Sum("attempts"),
    )
    return {
        "chunks_total": batch.chunks_total,
        "chunks_done": batch.chunks_done,
        "chunks_running": chunks["running"] or 0,
        "lines_written": chunks["lines"] or 0,
        "attempts": chunks["attempts"] or 0,
    }


def compute_chunk(*, chunk_id: int, worker: str = "") -> bool:
    """Compute one chunk's lines and count it done; False when there was nothing to do.

    Rule: a retried or duplicated chunk never counts twice. The chunk row is locked and
    checked inside the transaction that writes its lines and marks it done, so a chunk that is
    not done has no lines (a task that died rolled back) and one that is done is left alone; a
    recompute removes every line first. The unique (enrolment, kind, month) index would refuse a
    second line rather than let it count.

    Two transactions: the first reads the facts, computes and stores the explanations the lines
    need (written once, keyed by their content: they may be stored by an attempt that dies, and
    serve the next); the second locks the chunk, checks it, writes the lines and the done mark.
    Committed early, an explanation another worker also needs does not make it wait for a whole
    chunk.
    """
    claimed = BatchChunk.objects.filter(
        pk=chunk_id, status__in=(BatchChunk.Status.PENDING, BatchChunk.Status.RUNNING)
    ).update(
        status=BatchChunk.Status.RUNNING,
        attempts=F("attempts") + 1,
        worker=worker[:200],
        started_at=timezone.now(),
    )
    if not claimed:
        return False
    counter = _QueryCounter()
    with gc_paused(), connection.execute_wrapper(counter):
        chunk = BatchChunk.objects.select_related("batch__region").filter(pk=chunk_id).first()
        if chunk is None or chunk.status == BatchChunk.Status.DONE:
            return False
        if chunk.batch.status != Status.COMPUTING:
            return False
        with transaction.atomic():
            lines, total = _compute_lines(chunk=chunk, batch=chunk.batch)
        with transaction.atomic():
            locked = (
                BatchChunk.objects.select_for_update(of=("self",))
                .filter(pk=chunk_id)
                .values_list("status", "batch__status")
                .first()
            )
            if locked is None or locked != (BatchChunk.Status.RUNNING, Status.COMPUTING):
                return False  # done meanwhile by a duplicate, or the batch was recomputed
            _write_lines(chunk=chunk, lines=lines, total=total)
            del lines
            chunk.status = BatchChunk.Status.DONE
            chunk.worker = worker[:200]
            chunk.finished_at = timezone.now()
            chunk.peak_rss_kb = peak_rss_kb()
            chunk.queries = counter.count + 2  # this save and the counter update below
            # Only what this attempt did: ``chunk`` was read before the lock, and the count of
            # attempts claimed since then by a duplicate must stay.
            chunk.save(update_fields=CHUNK_RESULT_FIELDS)
            batch = chunk.batch
            PaymentBatch.objects.filter(pk=batch.pk).update(
                chunks_done=F("chunks_done") + 1, updated_at=timezone.now()
            )
            done, planned = PaymentBatch.objects.values_list("chunks_done", "chunks_total").get(
                pk=batch.pk
            )
            if done >= planned:
                transaction.on_commit(lambda: _queue([], batch.pk))
    return True


def _compute_lines(*, chunk: BatchChunk, batch: PaymentBatch) -> tuple[list[tuple], Decimal]:
    """Read the chunk's facts, compute its line rows and store the explanations they point to;
    return the rows and their total and record the phase timings on ``chunk``. Its own function
    so that the chunk's facts are freed when it returns, before the garbage collector resumes
    (see gc_paused)."""
    timer = _Timer()
    payroll_io.tune_chunk_session()
    enrolments = enrolments_in_force(region_prefix=batch.region.prefix, month=batch.month)
    rows = payroll_io.read_enrolments(
        enrolments=enrolments, first_id=chunk.first_enrolment_id, last_id=chunk.last_enrolment_id
    )
    cpi = cpi_rise_for(region_code=batch.region.code, month=batch.month)
    # The households' other enrolments are read only in a month with a CPI rise recorded: the
    # price subsidy is the one amount that depends on them.
    households = payroll_io.read_households(
        household_ids={row.household_id for row in rows},
        month=batch.month,
        coverage=cpi is not None,
    )
    chunk.read_seconds = timer.lap()
    builder = LineBuilder(batch=batch, cpi_rise_percent=cpi)
    lines = builder.lines(rows, households)
    chunk.compute_seconds = timer.lap()
    explanations.store(
        builder.explanations, known=explanations.stored_digests((batch.pk, batch.created_at))
    )
    chunk.write_seconds = timer.lap()
    return lines, builder.total


def _write_lines(*, chunk: BatchChunk, lines: list[tuple], total: Decimal) -> None:
    """Insert the chunk's lines (their explanations are stored); count them on ``chunk``, with
    their ``total``."""
    timer = _Timer()
    payroll_io.tune_chunk_session()
    payroll_io.insert_lines(lines)
    chunk.write_seconds += timer.lap()
    chunk.line_count = len(lines)
    chunk.total_amount = total


def run_chunk(*, chunk_id: int, worker: str = "") -> bool:
    """compute_chunk, and on an error no retry mends (anything but a lost connection), the batch
    failed with the reason instead of stuck computing (record_chunk_failure)."""
    try:
        return compute_chunk(chunk_id=chunk_id, worker=worker)
    except TRANSIENT:
        raise
    except Exception as error:
        log.exception("chunk %s failed", chunk_id)
        record_chunk_failure(chunk_id=chunk_id, error=describe(error))
        return False


def describe(error: BaseException) -> str:
    """An error as the batch shows it: its type and message (a DomainError's message alone)."""
    if isinstance(error, DomainError):
        return str(error.message)
    # The first line only: the database's DETAIL repeats the refused row (names, accounts).
    return f"{type(error).__name__}: {str(error).strip().partition(chr(10))[0]}"


def record_chunk_failure(*, chunk_id: int, error: str) -> None:
    """A chunk failed for good (retries spent, or an error no retry mends, such as a standard
    missing for the month or an amount the database refuses): the batch is failed and shows
    why, until it is resumed. The chunk goes back to pending, to be computed on resume. This
    worker forgets the explanations it saw stored: if the chunk failed for want of one (a
    database restored or emptied meanwhile), the resume stores it again."""
    explanations.forget_stored()
    BatchChunk.objects.filter(pk=chunk_id, status=BatchChunk.Status.RUNNING).update(
        status=BatchChunk.Status.PENDING
    )
    PaymentBatch.objects.filter(chunks__pk=chunk_id, status=Status.COMPUTING).update(
        status=Status.FAILED,
        error=_chunk_error(chunk_id=chunk_id, error=error),
        updated_at=timezone.now(),
    )


def _chunk_error(*, chunk_id: int, error: str) -> str:
    number = BatchChunk.objects.filter(pk=chunk_id).values_list("number", flat=True).first()
    return str(_("第%(n)s块计算失败：%(error)s") % {"n": number, "error": error})[:2000]


def finalize_batch(*, batch_id: int) -> bool:
    """Close a batch whose chunks are all done: batch-level lines, totals, state computed.

    Idempotent: the batch row is locked and the move is made only from computing. An error no
    retry mends (a correction the database refuses, totals past its numeric range) leaves
    nothing written and the batch failed with the reason, to be resumed once the cause is fixed.
    """
    try:
        _ensure_correction_months(batch_id=batch_id)
        return _finalize(batch_id=batch_id)
    except TRANSIENT:
        raise
    except Exception as error:
        log.exception("closing batch %s failed", batch_id)
        PaymentBatch.objects.filter(pk=batch_id, status=Status.COMPUTING).update(
            status=Status.FAILED,
            error=str(_("结算失败：%(error)s") % {"error": describe(error)})[:2000],
            updated_at=timezone.now(),
        )
        return False


def _ensure_correction_months(*, batch_id: int) -> None:
    """The partitions the closing step may write into, made before its transaction: the
    batch's month and the back-pay window's approved months (back pay carries its own month)."""
    batch = PaymentBatch.objects.filter(pk=batch_id, status=Status.COMPUTING).first()
    if batch is not None:
        months = [batch.month, *(m.month for m in settled_months(batch=batch))]
        partitions.ensure_months(months)


def _finalize(*, batch_id: int) -> bool:
    with transaction.atomic():
        batch = PaymentBatch.objects.select_for_update(of=("self",)).filter(pk=batch_id).first()
        if batch is None or batch.status != Status.COMPUTING:
            return False
        if batch.chunks.exclude(status=BatchChunk.Status.DONE).exists():
            return False
        added = explanations.create_lines(relief_lines(batch=batch))
        added += explanations.create_lines(correction_lines(batch=batch))
        # Each chunk counted and summed its own lines in the transaction that wrote them: adding
        # those up spares a scan of a million lines.
        chunks = batch.chunks.aggregate(count=Sum("line_count"), total=MoneySum("total_amount"))
        batch.line_count = (chunks["count"] or 0) + len(added)
        batch.total_amount = (chunks["total"] or Decimal("0")) + sum(
            (line.amount for line in added), Decimal("0")
        )
        batch.chunks_done = batch.chunks_total
        batch.status = Status.COMPUTED
        batch.error = ""
        batch.save()
    return True


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a chunk computes, and keep what survives
    the chunk out of later collections.

    A chunk makes a few hundred thousand tuples and facts objects that live until it ends; the
    collector, run every 700 allocations, walked them again and again and took more than half of
    the time spent building facts. They hold no reference cycles: reference counting frees them
    when the chunk's work returns. What outlives the chunk (the worker's caches of rendered
    steps and digests, bounded) is then frozen (gc.freeze): the first collection after the
    chunk walked all of it, 50-90 ms per chunk, for nothing (a chunk leaves no cyclic garbage:
    measured 0). Reference counting still frees frozen objects; every FULL_COLLECTION_EVERY
    chunks the freeze is lifted and a full collection runs, so that a cycle frozen by mistake
    is not kept for ever.
    """
    global _chunks_since_full_collection
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            _chunks_since_full_collection += 1
            if _chunks_since_full_collection >= FULL_COLLECTION_EVERY:
                _chunks_since_full_collection = 0
                gc.unfreeze()
                gc.collect()
            gc.freeze()
            gc.enable()


FULL_COLLECTION_EVERY = 100
_chunks_since_full_collection = 0


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM), read from /proc; 0 where there is none."""
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _start(*, batch: PaymentBatch, allowed: tuple, inline: bool, **fields) -> PaymentBatch:
    partitions.ensure_months([batch.month])
    with transaction.atomic():
        chunk_ids = _plan(batch=batch, allowed=allowed, **fields)
        if not inline:
            transaction.on_commit(lambda: _queue(chunk_ids, batch.pk))
    if inline:
        _run_inline(chunk_ids, batch.pk)
    batch.refresh_from_db()
    return batch


def _plan(*, batch: PaymentBatch, allowed: tuple, **fields) -> list[int]:
    """Move the batch to computing (from ``allowed``), replace its lines and chunks by the new
    plan; returns its chunk ids in order. Runs in the caller's transaction."""
    moved = PaymentBatch.objects.filter(pk=batch.pk, status__in=allowed).update(
        **fields,
        status=Status.COMPUTING,
        chunks_done=0,
        chunks_total=0,
        error="",
        updated_at=timezone.now(),
    )
    if not moved:
        batch.refresh_from_db()
        raise Conflict(
            _("批次当前状态为“%(status)s”，不能开始计算。") % {"status": batch.get_status_display()}
        )
    batch.lines.all().delete()
    batch.chunks.all().delete()
    enrolments = enrolments_in_force(region_prefix=batch.region.prefix, month=batch.month)
    bounds = payroll_io.chunk_bounds(enrolments=enrolments, size=settings.PAYROLL_CHUNK_SIZE)
    BatchChunk.objects.bulk_create(
        BatchChunk(batch=batch, number=n, first_enrolment_id=first, last_enrolment_id=last)
        for n, (first, last) in enumerate(bounds, start=1)
    )
    PaymentBatch.objects.filter(pk=batch.pk).update(chunks_total=len(bounds))
    return list(batch.chunks.order_by("number").values_list("pk", flat=True))


def compute_batches(*, batches: list[PaymentBatch], inline: bool = False) -> list[PaymentBatch]:
    """Start computing several draft batches at once: a province's cities and counties for one
    month. Each is planned as compute_batch plans it (all in one transaction: a batch that is not
    a draft refuses them all, 409); their chunks are queued round-robin across the batches (the
    first chunk of every batch, then every second chunk, ...), so the workers share out between
    the batches and a county's small batch is computed in the first rounds instead of after a
    big city's whole batch; the closing step of each is queued ahead of any chunk (see
    CHUNK_PRIORITY). ``inline``: computed here in the same order, each batch closed as soon as
    its last chunk is done."""
    partitions.ensure_months(batch.month for batch in batches)
    with transaction.atomic():
        plans = [(batch.pk, _plan(batch=batch, allowed=(Status.DRAFT,))) for batch in batches]
        if not inline:
            transaction.on_commit(lambda: _queue_round_robin(plans))
    if inline:
        _run_round_robin_inline(plans)
    for batch in batches:
        batch.refresh_from_db()
    return batches


def round_robin(plans: list[tuple[int, list[int]]]) -> list[tuple[int, int]]:
    """(batch id, chunk id) in the order the chunks are queued: the first chunk of each batch
    in the order given, then the second of each that has one, and so on."""
    order = []
    for depth in range(max((len(chunks) for _batch, chunks in plans), default=0)):
        order += [(batch_id, chunks[depth]) for batch_id, chunks in plans if depth < len(chunks)]
    return order


def _queue_round_robin(plans: list[tuple[int, list[int]]]) -> None:
    from payments import tasks  # tasks import this module

    for _batch_id, chunk_id in round_robin(plans):
        tasks.compute_chunk.apply_async((chunk_id,), priority=CHUNK_PRIORITY)
    for batch_id, chunks in plans:
        if not chunks:
            tasks.finalize_batch.delay(batch_id)


def _run_round_robin_inline(plans: list[tuple[int, list[int]]]) -> None:
    left = {batch_id: len(chunks) for batch_id, chunks in plans}
    failed = set()
    for batch_id, chunk_id in round_robin(plans):
        if batch_id in failed:
            continue
        run_chunk(chunk_id=chunk_id, worker=f"inline/{os.getpid()}")
        if PaymentBatch.objects.filter(pk=batch_id, status=Status.FAILED).exists():
            failed.add(batch_id)
            continue
        left[batch_id] -= 1
        if not left[batch_id]:
            finalize_batch(batch_id=batch_id)
    for batch_id, chunks in plans:
        if not chunks:
            finalize_batch(batch_id=batch_id)


def _run_inline(chunk_ids: list[int], batch_id: int) -> None:
    """Compute the chunks in this process, then close the batch; a failed chunk stops it."""
    for chunk_id in chunk_ids:
        run_chunk(chunk_id=chunk_id, worker=f"inline/{os.getpid()}")
        if PaymentBatch.objects.filter(pk=batch_id, status=Status.FAILED).exists():
            return
    finalize_batch(batch_id=batch_id)


# The priority chunk tasks are sent with. On Redis, 0 (the default, which the closing step keeps)
# is served first and higher numbers after it: a batch whose last chunk is done is closed at once,
# not after the chunks of every other batch queued before its closing step.
CHUNK_PRIORITY = 6


def _queue(chunk_ids: list[int], batch_id: int) -> None:
    """One task per chunk; with no chunk left, the closing step."""
    from payments import tasks  # tasks import this module

    for chunk_id in chunk_ids:
        tasks.compute_chunk.apply_async((chunk_id,), priority=CHUNK_PRIORITY)
    if not chunk_ids:
        tasks.finalize_batch.delay(batch_id)


class _Timer:
    def __init__(self):
        self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed, self.last = now - self.last, now
        return elapsed


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute: Callable, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

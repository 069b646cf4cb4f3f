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
from collections.abc import Callable, Mapping
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from beneficiaries.models import Region, User
from casework.facts import status_in_month
from casework.models import Enrolment, ReliefInstalment
from casework.selectors import enrolments_in_force, relief_instalments_due
from core.exceptions import Conflict, DomainError
from core.months import first_of_month, format_month
from payments import payroll_io
from payments.corrections import correction_lines
from payments.models import (
    FROZEN,
    BatchChunk,
    PaymentBatch,
    PaymentLine,
    canonical_json,
    explanation_digest,
    explanation_text,
)
from payments.money import MoneySum

# The engine renders one raw step to its JSON-ready dict; the batch caches what it renders.
from rules.engine import (
    EnrolmentFacts,
    HouseholdFacts,
    Params,
    Result,
    compute_amount,
    facts_key,
    price_subsidy,
    step_json,
)
from rules.parameters import resolve_parameters
from rules.selectors import cpi_rise_for

Status = PaymentBatch.Status
# Errors a retry may mend (a lost connection to the database or the broker); any other error in
# a chunk or the closing step fails the batch with the reason.
TRANSIENT = (OperationalError, InterfaceError, BrokerError, ConnectionError)
log = logging.getLogger(__name__)
ACTIVE = Enrolment.Status.ACTIVE
Kind = PaymentLine.Kind
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


def create_batch(*, region: Region, month: datetime.date, by: User | None) -> PaymentBatch:
    """Create the draft batch of a city or county for a month: one per region and month.

    A second batch for the same region and month is refused; the database's unique constraint
    decides when two requests race.
    """
    month = first_of_month(month)
    if region.level not in (Region.Level.CITY, Region.Level.COUNTY):
        raise DomainError(_("发放批次只能按市或县(区)建立。"), field="region")
    if PaymentBatch.objects.filter(region=region, month=month).exists():
        raise Conflict(_("该地区本月的发放批次已存在。"))
    try:
        with transaction.atomic():
            return PaymentBatch.objects.create(region=region, month=month, prepared_by=by)
    except IntegrityError:
        raise Conflict(_("该地区本月的发放批次已存在。"))


def compute_batch(*, batch: PaymentBatch, inline: bool = False) -> PaymentBatch:
    """Start computing a draft batch: plan its chunks and queue one task per chunk.

    ``inline`` computes every chunk in this process instead (the embedded demo, ``--sync``).
    """
    return _start(batch=batch, allowed=(Status.DRAFT,), inline=inline)


def recompute_batch(*, batch: PaymentBatch, inline: bool = False) -> PaymentBatch:
    """Compute a computed (or failed) batch again from today's facts; its lines are replaced,
    never added to.

    An approved (or later) batch is frozen: refused, nothing changes.
    """
    if batch.status in FROZEN:
        raise Conflict(_("批次已审批，数据已冻结，不能重新计算。"))
    return _start(batch=batch, allowed=(Status.COMPUTED, Status.FAILED), inline=inline)


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
    households = payroll_io.read_households(
        household_ids={row.household_id for row in rows}, month=batch.month
    )
    cpi = cpi_rise_for(region_code=batch.region.code, month=batch.month)
    chunk.read_seconds = timer.lap()
    builder = LineBuilder(batch=batch, cpi_rise_percent=cpi)
    lines = builder.lines(rows, households)
    chunk.compute_seconds = timer.lap()
    payroll_io.store_explanation_texts(builder.explanations)
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
    why, until it is resumed. The chunk goes back to pending, to be computed on resume."""
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


def _finalize(*, batch_id: int) -> bool:
    with transaction.atomic():
        batch = PaymentBatch.objects.select_for_update(of=("self",)).filter(pk=batch_id).first()
        if batch is None or batch.status != Status.COMPUTING:
            return False
        if batch.chunks.exclude(status=BatchChunk.Status.DONE).exists():
            return False
        added = PaymentLine.objects.bulk_create(relief_lines(batch=batch))
        added += PaymentLine.objects.bulk_create(correction_lines(batch=batch))
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


def relief_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """Lines for the relief instalments due in the batch's month (一次审批、分阶段救助), each
    claimed for this batch in the same transaction so it is paid in exactly one batch. A
    recomputed batch pays again the instalments it had claimed."""
    due = relief_instalments_due(region_prefix=batch.region.prefix, month=batch.month)
    again = ReliefInstalment.objects.filter(paid_batch=batch)
    instalments = list((due | again).select_related("household").order_by("id"))
    mark_relief_instalments_paid(instalment_ids=[i.pk for i in instalments], batch_id=batch.pk)
    return [
        PaymentLine(
            batch=batch,
            month=batch.month,
            kind=Kind.RELIEF_INSTALMENT,
            household=instalment.household,
            region_code=instalment.region_code,
            category="",
            source_ref=f"relief-instalment:{instalment.pk}",
            amount=instalment.amount,
            explanation=[
                {
                    "rule": "relief_instalment",
                    "formula": "approved relief paid in stages",
                    "inputs": {
                        "relief_case": str(instalment.relief_id),
                        "due_month": format_month(instalment.due_month),
                    },
                    "result": str(instalment.amount),
                }
            ],
            bank_name=instalment.household.bank_name,
            bank_account_holder=instalment.household.bank_account_holder,
            bank_account_number=instalment.household.bank_account_number,
        )
        for instalment in instalments
    ]


def mark_relief_instalments_paid(*, instalment_ids: list[int], batch_id: int) -> int:
    """Claim relief instalments for a batch, in the transaction that writes the batch's
    relief_instalment lines, so an instalment is taken into exactly one batch. Returns how many
    were claimed; an instalment already claimed by another batch is left alone (conditional
    update)."""
    return ReliefInstalment.objects.filter(pk__in=instalment_ids, paid_batch__isnull=True).update(
        paid_batch_id=batch_id, paid_at=timezone.now()
    )


def enrolment_facts(row: payroll_io.EnrolmentRow, month: datetime.date) -> EnrolmentFacts:
    """As casework.facts.facts_for_enrolment (the in-force selection has already checked the
    enrolment's months)."""
    status = row.status
    if status != ACTIVE:
        status = status_in_month(
            status=status, gradual_exit_until=row.gradual_exit_until, month=month
        )
    return EnrolmentFacts(
        row.id, row.category, row.member_id, row.care_level, status, row.gradual_exit_amount
    )


class _Memo(dict):
    """A dict that forgets everything when it grows past ``limit`` entries: what the engine's
    output renders to is a pure function of that output, so it may outlive a chunk (a worker
    renders each recurring step and explanation once) while memory stays bounded."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


# Per worker process, bounded: raw step → its JSON text; (raw steps, versions text) → the digest
# of the whole explanation; parameter versions → JSON text. Sized to stay well under the
# worker's memory budget (512 MB) while holding what a province's batch repeats.
_FRAGMENTS = _Memo(50_000)
_DIGESTS = _Memo(20_000)
_VERSIONS = _Memo(10_000)
# Per worker process, bounded: (parameters in force, CPI) → facts key (engine.facts_key) → what
# the engine made of those facts (LineBuilder._made). Most enrolments share their facts with
# others: those are neither computed nor explained again. RESULTS_LIMIT keys in all, some 900
# bytes each (~90 MB); a Zhenjiang worker holds ~80,000 after half of a million-household batch.
_RESULTS: dict[tuple, _Memo] = {}
RESULTS_LIMIT = 100_000


def _results_for(params: Params, cpi: Decimal | None) -> _Memo:
    """The results memo of one set of parameters and CPI figure (a new standard gets its own).

    The sets held together stay within RESULTS_LIMIT keys, give or take one chunk's: past it, the
    sets least recently used go first, then the set in use forgets everything (see _Memo)."""
    namespace = (params.fingerprint, cpi)
    results = _RESULTS.pop(namespace, None)
    if results is None:
        results = _Memo(RESULTS_LIMIT)
    _RESULTS[namespace] = results  # the most recently used last
    while len(_RESULTS) > 1 and sum(map(len, _RESULTS.values())) > RESULTS_LIMIT:
        _RESULTS.pop(next(iter(_RESULTS)), None)  # None: another thread (inline mode) took it
    return results


def steps_text(raw) -> str:
    """The canonical JSON text of the engine's raw steps, joined from each step's cached JSON
    fragment (byte for byte ``canonical_json(result.explanation())``)."""
    parts = []
    for step in raw:
        fragment = _FRAGMENTS.get(step)
        if fragment is None:
            fragment = _FRAGMENTS.remember(step, step_json(step))
        parts.append(fragment)
    return "[" + ",".join(parts) + "]"


def result_steps_text(result: Result) -> str:
    """The canonical JSON text of a result's steps. Result keeps its steps as raw tuples until
    read (the engine's fast path); a result built from Step objects has none, and is serialized
    whole."""
    raw = result._raw
    return canonical_json(result.explanation()) if raw is None else steps_text(raw)


def versions_text(versions: dict) -> str:
    """The canonical JSON text of a result's parameter versions, remembered per worker."""
    key = tuple(versions.items())
    text = _VERSIONS.get(key)
    if text is None:
        text = _VERSIONS.remember(key, canonical_json(versions))
    return text


def recipe_text(
    enrolment: EnrolmentFacts,
    household: HouseholdFacts,
    params: Params,
    kind: str,
    cpi: Decimal | None,
) -> str:
    """The explanation text of a line made from remembered facts, computed again from its facts
    (ChunkExplanations asks only for those the database lacks)."""
    if kind == Kind.REGULAR:
        result = compute_amount(enrolment, household, params)
    else:
        result = price_subsidy(enrolment, household, params, cpi)
    return explanation_text(result_steps_text(result), versions_text(result.versions))


class ChunkExplanations(Mapping):
    """Digest → canonical JSON text of each explanation a chunk's lines use.

    An explanation this worker had already rendered (most are) is kept as the recipe of one of
    the chunk's lines that uses it, its facts and kind, and rendered again only if asked for: the
    database already holds nearly all of them, so few ever are.
    """

    def __init__(self):
        self._entries: dict[str, object] = {}

    def add(self, digest: str, text_or_recipe) -> None:
        current = self._entries.get(digest)
        if current is None or current.__class__ is not str:
            self._entries[digest] = text_or_recipe

    def __getitem__(self, digest: str) -> str:
        entry = self._entries[digest]
        if entry.__class__ is not str:
            entry = self._entries[digest] = recipe_text(*entry)
        return entry

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class LineBuilder:
    """Turns a chunk's facts into line rows (LINE_COLUMNS order), calling the pure engine.

    Most enrolments share their facts with others (engine.facts_key): the engine runs once per
    distinct facts, remembered per worker (bounded), and each line made from remembered facts
    takes the amounts and digests computed then. Serializing explanations costs more than the
    computation, and most steps repeat across facts ("875 − 300 = 575"), so each distinct step
    is rendered and serialized once per worker and each distinct explanation (steps and
    parameter versions) is joined from those fragments and digested once. A line carries the
    digest; ``explanations`` maps each digest used to its canonical JSON text (rendered on
    demand from a line's facts when the worker knew the digest).
    """

    def __init__(self, *, batch: PaymentBatch, cpi_rise_percent: Decimal | None):
        self.batch = batch
        self.month = batch.month
        self.month_text = batch.month.isoformat()
        self.cpi = cpi_rise_percent
        self._params: dict[str, Params] = {}
        self._versions_seen: dict[int, tuple[dict, str]] = {}
        self.explanations = ChunkExplanations()
        self.total = Decimal("0")  # of the lines made so far

    def lines(
        self, rows: list[payroll_io.EnrolmentRow], households: dict[int, HouseholdFacts]
    ) -> list[tuple]:
        # The loop runs a million times per batch: lookups are hoisted into locals.
        out = []
        append = out.append
        add_explanation = self.explanations.add
        batch_id, month, month_text, cpi = self.batch.pk, self.month, self.month_text, self.cpi
        by_code: dict[str, tuple[Params, _Memo]] = {}
        pending = PaymentLine.Status.PENDING
        total = self.total
        for row in rows:
            enrolment = enrolment_facts(row, month)
            household = households.get(row.household_id) or HouseholdFacts(row.household_id, ())
            found = by_code.get(row.region_code)
            if found is None:
                params = self._params_for(row.region_code)
                found = by_code[row.region_code] = (params, _results_for(params, cpi))
            params, results = found
            key = facts_key(enrolment, household, params)
            made = results.get(key)
            if made is None:
                made = results.remember(key, self._made(enrolment, household, params))
            for kind, amount, amount_text, digest in made:
                total += amount
                add_explanation(digest, (enrolment, household, params, kind, cpi))
                append(
                    (
                        batch_id,
                        month_text,
                        kind,
                        row.id,
                        row.household_id,
                        row.region_code,
                        row.category,
                        "",
                        amount_text,
                        digest,
                        row.bank_name,
                        row.bank_account_holder,
                        row.bank_account_number,
                        pending,
                        "",
                    )
                )
        self.total = total
        return out

    def _made(
        self, enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params
    ) -> tuple[tuple, ...]:
        """What the engine makes of these facts, as lines need it: (kind, amount, amount as
        text, explanation digest) of the monthly amount and, when the month's CPI triggers it,
        of the price subsidy."""
        made = []
        kind, result = Kind.REGULAR, compute_amount(enrolment, household, params)
        while result is not None:
            made.append((kind, result.amount, str(result.amount), self._digest(result)))
            if kind is Kind.PRICE_SUBSIDY or self.cpi is None:
                break
            kind, result = Kind.PRICE_SUBSIDY, price_subsidy(enrolment, household, params, self.cpi)
        return tuple(made)

    def _digest(self, result: Result) -> str:
        """The digest of a result's explanation. One this worker renders for the first time goes
        into the chunk's explanations as text."""
        versions = self._versions_text(result.versions)
        raw = result._raw
        if raw is None:  # no raw steps to remember the digest by
            text = explanation_text(result_steps_text(result), versions)
            digest = explanation_digest(text)
            self.explanations.add(digest, text)
            return digest
        key = (tuple(raw), versions)
        digest = _DIGESTS.get(key)
        if digest is None:
            text = explanation_text(result_steps_text(result), versions)
            digest = _DIGESTS.remember(key, explanation_digest(text))
            self.explanations.add(digest, text)
        return digest

    def _params_for(self, region_code: str) -> Params:
        county = region_code[:6]
        params = self._params.get(county)
        if params is None:
            params = self._params[county] = resolve_parameters(
                region_code=region_code, month=self.month
            )
        return params

    def _versions_text(self, versions: dict) -> str:
        """versions_text, remembered by identity too: results of one category share their
        rules' dict (the entry keeps the dict alive: its id cannot be reused while the builder
        lives)."""
        seen = self._versions_seen.get(id(versions))
        if seen is not None and seen[0] is versions:
            return seen[1]
        text = versions_text(versions)
        self._versions_seen[id(versions)] = (versions, text)
        return text


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


def _start(*, batch: PaymentBatch, allowed: tuple, inline: bool) -> PaymentBatch:
    with transaction.atomic():
        moved = PaymentBatch.objects.filter(pk=batch.pk, status__in=allowed).update(
            status=Status.COMPUTING,
            chunks_done=0,
            chunks_total=0,
            error="",
            updated_at=timezone.now(),
        )
        if not moved:
            batch.refresh_from_db()
            raise Conflict(
                _("批次当前状态为“%(status)s”，不能开始计算。")
                % {"status": batch.get_status_display()}
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
        chunk_ids = list(batch.chunks.values_list("pk", flat=True))
        if not inline:
            transaction.on_commit(lambda: _queue(chunk_ids, batch.pk))
    if inline:
        _run_inline(chunk_ids, batch.pk)
    batch.refresh_from_db()
    return batch


def _run_inline(chunk_ids: list[int], batch_id: int) -> None:
    """Compute the chunks in this process, then close the batch; a failed chunk stops it."""
    for chunk_id in chunk_ids:
        run_chunk(chunk_id=chunk_id, worker=f"inline/{os.getpid()}")
        if PaymentBatch.objects.filter(pk=batch_id, status=Status.FAILED).exists():
            return
    finalize_batch(batch_id=batch_id)


def _queue(chunk_ids: list[int], batch_id: int) -> None:
    """One task per chunk; with no chunk left, the closing step."""
    from payments import tasks  # tasks import this module

    for chunk_id in chunk_ids:
        tasks.compute_chunk.delay(chunk_id)
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

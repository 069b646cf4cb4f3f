"""Benchmark a full monthly batch.

    python manage.py bench_payroll --households 1000000 --workers 2     # PostgreSQL + Redis
    python manage.py bench_payroll --households 20000                  # embedded: SQLite, inline

Generates (or reuses) a synthetic caseload of that many households with seeds' generate_caseload,
runs the batch with real Celery workers that this command starts (``--workers``), and prints
households, lines, seconds per phase, peak memory per worker and queries per chunk. It then
measures the same-shape floor: the batch's own lines, as written, copied (COPY) into a new table
shaped like one month's partition of the payment lines (their columns, indexes and constraints),
which is what a batch's COPY fills: twice, each after a CHECKPOINT as the batch is, the faster
kept. For reference it also prints the
older floors: as many rows as households, each shaped like a line and made in Python
(``write_row``), into a scratch table with no index, constraint or trigger, and the narrowest
(one prebuilt line repeated). The last three lines are ``households/s``, ``ratio to same-shape
floor`` and ``history months``.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Min, Sum

from beneficiaries.models import (
    Household,
    HouseholdFactsPeriod,
    IncomeItem,
    Member,
    MemberMove,
    Region,
)
from casework.models import Adjustment, Enrolment
from config.celery import app
from payments import batches, payroll_io
from payments.management.commands.run_payroll import find_region, parse_month
from payments.management.history import build_history, ensure_new_standard
from payments.models import BatchChunk, PaymentBatch, PaymentExplanation, PaymentLine
from rules.parameters import load_standards

# What a batch reads and writes (the bench vacuums them before the timed run).
SETTLED_MODELS = (
    Household,
    HouseholdFactsPeriod,
    Member,
    IncomeItem,
    MemberMove,
    Enrolment,
    PaymentExplanation,
    PaymentLine,
    BatchChunk,
    PaymentBatch,
    Adjustment,
)
BENCH_STATES = (
    PaymentBatch.Status.DRAFT,
    PaymentBatch.Status.COMPUTING,
    PaymentBatch.Status.COMPUTED,
    PaymentBatch.Status.FAILED,
)


def drop_batch(*, region: Region, month) -> None:
    """The bench's own batch of an earlier run goes, its lines first in one statement."""
    with transaction.atomic():
        for batch in PaymentBatch.objects.filter(region=region, month=month):
            if batch.status not in BENCH_STATES:
                raise CommandError(f"batch {batch.pk} is {batch.status}: not a bench batch")
            PaymentLine.objects.filter(batch=batch)._raw_delete(PaymentLine.objects.db)
            BatchChunk.objects.filter(batch=batch).delete()
            batch.delete()


def drop_batches_under(*, city: str, month) -> None:
    """Every bench batch of the month of the city and of its counties (a city's batch and its
    counties' would pay the same enrolments: bench_province leaves county batches)."""
    levels = (Region.Level.CITY, Region.Level.COUNTY)
    for region in Region.objects.filter(code__startswith=city, level__in=levels):
        drop_batch(region=region, month=month)


def line_rows() -> str:
    """How many payment lines the table holds: on PostgreSQL the sum of its partitions' row
    estimates (each exact after the settle's VACUUM; the partitioned parent's own figure is
    sampled by ANALYZE), a count elsewhere."""
    table = PaymentLine._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint FROM pg_class c "
                "WHERE c.oid = %s::regclass AND c.relkind = 'r' OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)",
                [table, table],
            )
        else:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return str(max(cursor.fetchone()[0], 0))


def process_cpu() -> dict[int, tuple[str, int, float]]:
    """Every process this machine shows: pid → (name, process group, CPU seconds used, user and
    system, its own and that of its children that have ended, as PostgreSQL's backends do when
    their connection closes). Empty where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return found
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()  # from the state, field 3 of proc(5)
        found[int(entry)] = (name, int(fields[2]), sum(map(int, fields[11:15])) / ticks)
    return found


def cpu_used(before: dict, after: dict, *, worker_groups: set[int]) -> dict[str, float]:
    """CPU seconds spent between two process_cpu() readings by PostgreSQL (every ``postgres``
    process of the machine: run the bench on a quiet one), by the Celery workers (their process
    groups) and by this command."""
    used = {"postgres": 0.0, "workers": 0.0, "this command": 0.0}
    for pid, (name, group, seconds) in after.items():
        spent = seconds - (before[pid][2] if pid in before else 0.0)
        if name == "postgres":
            used["postgres"] += spent
        elif group in worker_groups:
            used["workers"] += spent
        elif pid == os.getpid():
            used["this command"] += spent
    return used


def start_worker(number: int, env: dict | None = None) -> subprocess.Popen:
    """One Celery worker process (one pool process) in its own process group."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
        "--pool", "prefork", "--hostname", f"bench{number}@%h", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log = open(f"{tempfile.gettempdir()}/bench_payroll_worker{number}.log", "a")  # noqa: SIM115
    return subprocess.Popen(
        command, stdout=log, stderr=log, start_new_session=True, env=env or os.environ.copy()
    )


def start_workers(count: int) -> list[subprocess.Popen]:
    app.control.purge()
    procs = [start_worker(number) for number in range(1, count + 1)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1)) >= count:
            return procs
    stop_workers(procs)
    raise CommandError("the Celery workers did not answer within 60 s")


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


class Command(BaseCommand):
    help = "Run a full monthly batch on a synthetic caseload and print where the time goes."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, required=True)
        parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
        parser.add_argument("--city", default="3211")
        parser.add_argument("--month", default="2024-08")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--chunk-size", type=int, default=settings.PAYROLL_CHUNK_SIZE)
        parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait")
        parser.add_argument(
            "--history-months",
            type=int,
            default=0,
            help="approved batches for this many earlier months first (kept for later runs); "
            "the timed month then starts a new standard",
        )

    def handle(
        self,
        *args,
        households,
        workers,
        city,
        month,
        seed,
        chunk_size,
        timeout,
        history_months,
        **opts,
    ):
        month = parse_month(month)
        settings.PAYROLL_CHUNK_SIZE = chunk_size
        real = connection.vendor == "postgresql" and bool(settings.CELERY_BROKER_URL)
        self._caseload(city=city, households=households, seed=seed)
        region = find_region(city)
        drop_batches_under(city=city, month=month)
        if history_months > 0:
            self._history(
                region=region, month=month, months=history_months, real=real, workers=workers,
                timeout=timeout,
            )  # fmt: skip
        self._settle()
        self.stdout.write(f"payment lines in the table before the batch: {line_rows()}")
        procs = start_workers(workers) if real else []
        if procs:
            self.stdout.write(f"workers: {workers} ready")
        try:
            cpu_before = process_cpu()
            started = time.perf_counter()
            batch = batches.create_batch(region=region, month=month, by=None)
            batches.compute_batch(batch=batch, inline=not real)
            batch = self._wait(batch, started=started, timeout=timeout)
            elapsed = time.perf_counter() - started
            cpu = cpu_used(cpu_before, process_cpu(), worker_groups={p.pid for p in procs})
        finally:
            stop_workers(procs)
        self._report(
            batch,
            households=households,
            elapsed=elapsed,
            real=real,
            workers=workers,
            cpu=cpu,
            history_months=history_months,
        )

    def _history(self, *, region, month, months: int, real: bool, workers: int, timeout: int):
        """The earlier months (payments.management.history), the month before computed by
        workers started for it when it must be and stopped after (the timed batch gets fresh
        ones), then the timed month's new standard. Not timed; printed."""

        procs: list = []

        def compute(batch: PaymentBatch) -> PaymentBatch:
            if real and not procs:  # only when a month is computed: a re-run reuses them all
                procs.extend(start_workers(workers))
            batches.compute_batch(batch=batch, inline=not real)
            return self._wait(batch, started=time.perf_counter(), timeout=timeout, quiet=True)

        try:
            history = build_history(
                region=region,
                month=month,
                months=months,
                compute=compute,
                drop=lambda r, m: drop_batch(region=r, month=m),
            )
        finally:
            stop_workers(procs)
        span = f"{history.months[0]:%Y-%m} … {history.months[-1]:%Y-%m}"
        if history.built:
            self.stdout.write(
                f"history: {months} months ({span}); built {len(history.built)} of them: "
                f"{history.lines} lines, {history.adjustments} adjustments, "
                f"{history.seconds:.1f} s"
            )
        else:
            self.stdout.write(f"history: {months} months ({span}), all approved already")
        standard = ensure_new_standard(region=region, month=month)
        if standard is not None:
            self.stdout.write(
                f"standard: {standard.value.normalize():f} from {month:%Y-%m} added (a new "
                "standard: the batch stores its explanations anew)"
            )

    def _caseload(self, *, city: str, households: int, seed: int) -> None:
        # A fresh database works too: schema, then the seed regions and standards.
        call_command("migrate", interactive=False, verbosity=0)
        if not Region.objects.filter(code__startswith=city).exists():
            call_command("load_seeds", stdout=self.stdout, stderr=self.stderr)
        load_standards()
        existing = Household.objects.filter(region_code__startswith=city).count()
        if existing == households:
            self.stdout.write(f"caseload: reusing {existing} households of {city}")
            return
        self.stdout.write(f"caseload: generating {households} households of {city} ...")
        call_command(
            "generate_caseload",
            city=city,
            households=households,
            seed=seed,
            reset=existing > 0,
            stdout=self.stdout,
            stderr=self.stderr,
        )

    def _settle(self) -> None:
        """Start from a quiet database, as a monthly batch would: VACUUM (ANALYZE) what the batch
        reads and writes (the dead lines of the bench's previous batch go; new rows get their
        visibility set once, not by the timed run; autovacuum does this in production, and may
        be off on a bench machine), then CHECKPOINT, so the flushing of the caseload just
        generated does not overlap the timed batch. Not timed; printed."""
        if connection.vendor != "postgresql":
            return
        if connection.in_atomic_block:  # VACUUM cannot run in a transaction (a test's, say)
            self.stdout.write("settle: skipped inside a transaction")
            return
        started = time.perf_counter()
        tables = [model._meta.db_table for model in SETTLED_MODELS]
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        self._checkpoint()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"settle: VACUUM (ANALYZE), CHECKPOINT: {elapsed:.1f} s")

    def _checkpoint(self) -> None:
        """CHECKPOINT on PostgreSQL, where the role may (superuser or pg_checkpoint); said when
        it may not."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return
        with connection.cursor() as cursor:
            try:
                cursor.execute("CHECKPOINT")
            except DatabaseError:
                self.stdout.write("CHECKPOINT not permitted, skipped")

    def _wait(
        self, batch: PaymentBatch, *, started: float, timeout: int, quiet: bool = False
    ) -> PaymentBatch:
        last_done = -1
        while True:
            batch.refresh_from_db()
            if batch.status == PaymentBatch.Status.COMPUTED:
                return batch
            if batch.error:  # a chunk failed for good: no waiting for the timeout
                raise CommandError(f"batch {batch.pk} stopped: {batch.error}")
            if batch.chunks_done != last_done and not quiet:
                last_done = batch.chunks_done
                self.stdout.write(
                    f"  {time.perf_counter() - started:6.1f}s  chunks "
                    f"{batch.chunks_done}/{batch.chunks_total}"
                )
            if time.perf_counter() - started > timeout:
                raise CommandError(f"batch {batch.pk} not computed after {timeout} s")
            time.sleep(0.05)

    def _report(
        self,
        batch,
        *,
        households: int,
        elapsed: float,
        real: bool,
        workers: int,
        cpu: dict,
        history_months: int = 0,
    ):
        chunks = BatchChunk.objects.filter(batch=batch)
        sums = chunks.aggregate(
            read=Sum("read_seconds"),
            compute=Sum("compute_seconds"),
            write=Sum("write_seconds"),
            queries=Sum("queries"),
            first=Min("started_at"),
            last=Max("finished_at"),
        )
        closing = (batch.updated_at - sums["last"]).total_seconds() if sums["last"] else 0.0
        peaks = defaultdict(int)
        for worker, peak in chunks.values_list("worker", "peak_rss_kb"):
            peaks[worker] = max(peaks[worker], peak)
        floor = self._copy_floor(batch, rows=households)
        repeated = self._copy_floor(batch, rows=households, repeated=True)
        # The floor's own COPY is timed as the batch is, after a CHECKPOINT (the batch's WAL
        # otherwise has the server checkpointing during it), and the faster of two is kept: one
        # COPY's time moved by a third between runs on a shared VM, the batch's much less.
        floors, copied = same_shape_floor(batch, runs=SAME_SHAPE_RUNS, before_each=self._checkpoint)
        same_shape = min(floors)
        mode = f"PostgreSQL + Celery, {workers} worker(s)" if real else "embedded, in-process"
        out = self.stdout.write
        out(f"mode: {mode}; chunk size {settings.PAYROLL_CHUNK_SIZE}")
        out(f"households: {households}")
        out(f"lines: {batch.line_count}  total: {batch.total_amount}")
        out(f"chunks: {batch.chunks_total}")
        out(
            "phase seconds (summed over chunks): "
            f"read {sums['read'] or 0:.2f}  compute {sums['compute'] or 0:.2f}  "
            f"write {sums['write'] or 0:.2f}  totals (closing) {closing:.2f}"
        )
        for worker, peak in sorted(peaks.items()):
            out(f"peak memory {worker}: {peak / 1024:.0f} MB")
        per_chunk = (sums["queries"] or 0) / max(batch.chunks_total, 1)
        out(f"queries per chunk: {per_chunk:.1f}")
        out(f"end to end: {elapsed:.2f} s")
        cores = os.cpu_count() or 1
        out(
            "cpu seconds during the batch: "
            + ", ".join(f"{who} {seconds:.2f}" for who, seconds in cpu.items())
            + f"; on {cores} cores PostgreSQL's share alone takes {cpu['postgres'] / cores:.1f} s"
        )
        out(f"COPY floor (one prebuilt line repeated): {repeated:.2f} s for {households} rows")
        out(f"COPY floor: {floor:.2f} s for {households} rows, one per household")
        out(f"ratio to COPY floor: {f'{elapsed / floor:.2f}' if floor else 'n/a'}")
        out(
            f"same-shape floor: {same_shape:.2f} s for the batch's {copied} lines, into a table "
            f"with the columns, indexes and constraints of {PaymentLine._meta.db_table} (the "
            f"faster of {' / '.join(f'{f:.2f}' for f in floors)} s, each after a CHECKPOINT)"
        )
        out(f"households/s: {households / elapsed:.0f}")
        out(f"ratio to same-shape floor: {f'{elapsed / same_shape:.2f}' if same_shape else 'n/a'}")
        out(f"history months: {history_months}")

    def _copy_floor(self, batch: PaymentBatch, *, rows: int, repeated: bool = False) -> float:
        """COPY (bulk insert on SQLite) of ``rows`` rows shaped like this batch's lines into a
        scratch table without index, constraint or trigger: each row made in Python and written
        with psycopg's ``write_row`` (its ids and amount vary), or, ``repeated``, one line's text
        written over and over (no row is made at all: the narrowest floor)."""
        sample = (
            PaymentLine.objects.filter(batch=batch)
            .values_list(*[c for c in payroll_io.LINE_COLUMNS if c != "batch_id"])
            .first()
        )
        if sample is None:
            return 0.0
        row = payroll_io.row_from_values(batch.pk, sample)
        scratch = "bench_copy_floor"
        columns = ", ".join(payroll_io.LINE_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
            cursor.execute(
                f"CREATE TABLE {scratch} AS SELECT {columns} FROM "
                f"{PaymentLine._meta.db_table} WHERE 1 = 0"
            )
        enrolment = payroll_io.LINE_COLUMNS.index("enrolment_id")
        household = payroll_io.LINE_COLUMNS.index("household_id")
        amount = payroll_io.LINE_COLUMNS.index("amount")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql" and repeated:
                with cursor.cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
                    line = payroll_io.row_text(row)
                    block = line * 5000
                    for _ in range(rows // 5000):
                        copy.write(block)
                    copy.write(line * (rows % 5000))
            elif connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
                    values = list(row)
                    for number in range(rows):
                        values[enrolment] = values[household] = number
                        values[amount] = f"{number % 2000}.00"
                        copy.write_row(values)
            else:
                marks = ", ".join(["%s"] * len(payroll_io.LINE_COLUMNS))
                made = (
                    (*row[:enrolment], number, number, *row[household + 1 : amount], number % 2000,
                     *row[amount + 1 :])
                    for number in range(rows)
                )  # fmt: skip
                cursor.executemany(
                    f"INSERT INTO {scratch} VALUES ({marks})", [row] * rows if repeated else made
                )
        elapsed = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {scratch}")
        return elapsed


SAME_SHAPE_TABLE = "bench_same_shape_floor"
SAME_SHAPE_RUNS = 2


def same_shape_floor(
    batch: PaymentBatch, *, runs: int = 1, before_each: Callable[[], None] = lambda: None
) -> tuple[list[float], int]:
    """Seconds to COPY the batch's own lines, as written (its columns, in id order), into a new
    table shaped like one month's partition of the lines: ``LIKE … INCLUDING ALL`` of the
    partitioned table (defaults and identity, NOT NULL and CHECK constraints, the primary key and
    every unique and plain index: what each partition has), without its triggers. The lines are
    first copied out to a file once (not timed); each of ``runs`` makes the table anew, calls
    ``before_each`` and times the COPY in, one transaction committed as a chunk's is
    (payroll_io.tune_chunk_session), then drops the table. SQLite: the table's and its indexes'
    own CREATE statements, and executemany. Returns (seconds of each run, lines copied)."""
    lines = PaymentLine._meta.db_table
    columns = ", ".join(payroll_io.LINE_COLUMNS)
    select = f"SELECT {columns} FROM {lines} WHERE batch_id = %s ORDER BY id"
    if connection.vendor == "postgresql":
        with tempfile.TemporaryFile() as dump:
            copied = _dump_lines(select, batch.pk, dump)

            def copy_in() -> None:
                dump.seek(0)
                with connection.cursor() as cursor:
                    payroll_io.tune_chunk_session()
                    sql = f"COPY {SAME_SHAPE_TABLE} ({columns}) FROM STDIN"
                    with cursor.cursor.copy(sql) as copy:
                        while block := dump.read(1 << 20):
                            copy.write(block)

            return [_timed_into_new_table(copy_in, before_each) for _ in range(runs)], copied
    with connection.cursor() as cursor:
        cursor.execute(select, [batch.pk])
        rows = cursor.fetchall()
    marks = ", ".join(["%s"] * len(payroll_io.LINE_COLUMNS))

    def insert() -> None:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {SAME_SHAPE_TABLE} ({columns}) VALUES ({marks})", rows)

    return [_timed_into_new_table(insert, before_each) for _ in range(runs)], len(rows)


def _timed_into_new_table(write: Callable[[], None], before: Callable[[], None]) -> float:
    """Seconds ``write`` takes, in a transaction of its own, to fill the same-shape table, made
    anew before (then ``before`` called) and dropped after."""
    make_same_shape_table()
    try:
        before()
        started = time.perf_counter()
        with transaction.atomic():
            write()
        return time.perf_counter() - started
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SAME_SHAPE_TABLE}")


def _dump_lines(select: str, batch_id: int, dump) -> int:
    """Copy the lines ``select`` reads out into the file ``dump``; returns how many."""
    copied = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({select}) TO STDOUT", (batch_id,)) as copy:
            for data in copy:
                dump.write(data)
                copied += bytes(data).count(b"\n")  # a row each: COPY escapes a newline
    return copied


def make_same_shape_table() -> str:
    """(Re)create the same-shape floor's empty table; returns its name."""
    lines = PaymentLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SAME_SHAPE_TABLE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {SAME_SHAPE_TABLE} (LIKE {lines} INCLUDING ALL)")
        else:
            for statement in _sqlite_schema(lines):
                cursor.execute(statement)
    return SAME_SHAPE_TABLE


def _sqlite_schema(table: str) -> list[str]:
    """The table's and its indexes' CREATE statements from sqlite_master, renamed for the
    same-shape floor's table (index names prefixed: they are unique per database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = %s AND type IN ('table', 'index') "
            "AND sql IS NOT NULL ORDER BY type DESC",
            [table],
        )
        statements = [row[0] for row in cursor.fetchall()]
    renamed = []
    for statement in statements:
        statement = re.sub(r'INDEX "(\w+)"', rf'INDEX "{SAME_SHAPE_TABLE}_\1"', statement)
        renamed.append(statement.replace(f'"{table}"', f'"{SAME_SHAPE_TABLE}"'))
    return renamed

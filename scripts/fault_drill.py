"""Fault drill of the monthly batch. Prints PASS or FAIL per scenario.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_payroll SECRET_KEY=dev \
        python scripts/fault_drill.py --households 20000 --chunk-size 1000

It uses its own Redis (a redis-server it starts on --redis-port, append-only, so a restart keeps
the queue) and blocks only its own database (ALLOW_CONNECTIONS false, then its sessions are
terminated), so other users of the same servers are not disturbed. Scenarios, each compared
with an undisturbed run (same lines per enrolment and kind, same count, same total):

1. a worker's pool process is killed (kill -9) mid-batch: its task goes back to the queue;
2. a whole worker (main and pool process) is killed (kill -9) mid-batch and restarted: the lost
   chunk is queued again by the stalled-batch resume that beat runs every minute;
3. Redis is shut down mid-batch and restarted;
4. PostgreSQL refuses connections to the database for a few seconds mid-batch;
5. a poisoned line: one enrolment carries a gradual-exit amount of 999,999,999,999.99, as a
   database from before the input bounds could hold (its CHECK is dropped for the drill and put
   back).
   The batch must end failed with the reason, not stuck computing; once the amount is corrected,
   resuming it must give the undisturbed run's lines and total.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--city", default="3211")
    parser.add_argument("--month", default="2024-08")
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds PostgreSQL refuses")
    return parser.parse_args()


ARGS = parse_args()
REDIS_DIR = Path(tempfile.mkdtemp(prefix="fault_drill_redis_"))
os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{ARGS.redis_port}/0"
os.environ["PAYROLL_CHUNK_SIZE"] = str(ARGS.chunk_size)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.chdir(ROOT)

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import OperationalError, close_old_connections, connection  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402

from payments import batches  # noqa: E402
from payments.management.commands.bench_payroll import (  # noqa: E402
    drop_batch,
    start_worker,
    start_workers,
    stop_workers,
)
from payments.management.commands.run_payroll import find_region, parse_month  # noqa: E402
from payments.models import BatchChunk, PaymentBatch, PaymentLine  # noqa: E402

STALL = 8  # seconds without a finished chunk before the batch is resumed (beat: 300)


def redis_up() -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server", "--port", str(ARGS.redis_port), "--bind", "127.0.0.1",
            "--dir", str(REDIS_DIR), "--appendonly", "yes", "--save", "",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    for _ in range(50):
        if (
            subprocess.run(
                ["redis-cli", "-p", str(ARGS.redis_port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            == "PONG"
        ):
            return proc
        time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


def redis_down(proc: subprocess.Popen) -> None:
    subprocess.run(["redis-cli", "-p", str(ARGS.redis_port), "shutdown"], capture_output=True)
    proc.wait(timeout=30)


def admin_sql(sql: str) -> None:
    """Run on the server's maintenance database, never on the drill's own."""
    db = settings.DATABASES["default"]
    dsn = f"host={db['HOST']} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql)


def snapshot(batch: PaymentBatch) -> dict:
    lines = PaymentLine.objects.filter(batch=batch)
    return {
        "lines": lines.count(),
        "distinct": lines.values("enrolment_id", "kind", "source_ref").distinct().count(),
        "total": lines.aggregate(total=Sum("amount"))["total"],
        "by_kind": dict(lines.values_list("kind").annotate(n=Count("pk")).order_by("kind")),
        "amounts": hash(tuple(lines.order_by("enrolment_id", "kind").values_list("amount"))),
    }


def run_batch(disturb=None) -> tuple[PaymentBatch, dict, str]:
    """Create and compute the batch; ``disturb(batch)`` runs once a third of it is done."""
    region, month = find_region(ARGS.city), parse_month(ARGS.month)
    drop_batch(region=region, month=month)
    batch = batches.create_batch(region=region, month=month, by=None)
    batches.compute_batch(batch=batch)
    note, disturbed, last_progress = "", disturb is None, (0, time.monotonic())
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            batch.refresh_from_db()
        except OperationalError:
            close_old_connections()
            connection.close()
            time.sleep(0.5)
            continue
        if batch.status in (PaymentBatch.Status.COMPUTED, PaymentBatch.Status.FAILED):
            break
        if not disturbed and batch.chunks_done >= max(1, batch.chunks_total // 3):
            note = disturb(batch) or ""
            disturbed = True
        if batch.chunks_done != last_progress[0]:
            last_progress = (batch.chunks_done, time.monotonic())
        elif time.monotonic() - last_progress[1] > STALL:
            # What beat's resume_stalled_batches does every minute, sooner for the drill.
            try:
                batches.resume_batch(batch=batch)
                note += " (stalled: resumed)"
            except Exception as error:  # the broker or database may still be coming back
                print(f"  resume failed, will retry: {error}")
            last_progress = (batch.chunks_done, time.monotonic())
        time.sleep(0.2)
    batch.refresh_from_db()
    return batch, snapshot(batch), note


def wait_for(batch: PaymentBatch, seconds: float = 900) -> PaymentBatch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.status in (PaymentBatch.Status.COMPUTED, PaymentBatch.Status.FAILED):
            break
        time.sleep(0.2)
    return batch


POISON = Decimal("999999999999.99")
BOUND = "gradual_exit_amount_within_bounds"


def poisoned_line(baseline: dict) -> tuple[bool, str]:
    """Scenario 5: fails with the reason, then resumes to the baseline once corrected."""
    from casework.models import Enrolment
    from casework.selectors import enrolments_in_force

    month = parse_month(ARGS.month)
    in_force = enrolments_in_force(region_prefix=ARGS.city, month=month).filter(status="active")
    poisoned = in_force.order_by("id")[in_force.count() // 2]
    before = Enrolment.objects.filter(pk=poisoned.pk).values(
        "status", "gradual_exit_amount", "gradual_exit_until", "end_month"
    )[0]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE casework_enrolment DROP CONSTRAINT {BOUND}")
    try:
        Enrolment.objects.filter(pk=poisoned.pk).update(
            status="gradual_exit", gradual_exit_amount=POISON, gradual_exit_until=month
        )
        batch, _, _ = run_batch()
        failed = batch.status == PaymentBatch.Status.FAILED and "line_amount" in batch.error
        note = (
            f"{batch.status} after {batch.chunks_done}/{batch.chunks_total} chunks: {batch.error}"
        )
    finally:
        Enrolment.objects.filter(pk=poisoned.pk).update(**before)
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE casework_enrolment ADD CONSTRAINT {BOUND} CHECK "
                "(gradual_exit_amount IS NULL OR gradual_exit_amount BETWEEN 0 AND 100000) "
                "NOT VALID"
            )
    if not failed:
        return False, note
    batches.resume_batch(batch=batch)
    batch = wait_for(batch)
    resumed = snapshot(batch)
    ok = batch.status == PaymentBatch.Status.COMPUTED and resumed == baseline
    return ok, f"{note}; corrected and resumed: {batch.status}, {resumed['lines']} lines"


def child_of(proc: subprocess.Popen) -> int:
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return int(children[0])


def main() -> int:
    redis = redis_up()
    procs = []
    failures = 0
    try:
        call_command("migrate", interactive=False, verbosity=0)  # a new database works too
        call_command("load_seeds", verbosity=0)
        from beneficiaries.models import Household

        if Household.objects.filter(region_code__startswith=ARGS.city).count() != ARGS.households:
            call_command(
                "generate_caseload", city=ARGS.city, households=ARGS.households, reset=True
            )
        procs = start_workers(2)
        _, baseline, _ = run_batch()
        print(
            f"baseline: {baseline['lines']} lines, total {baseline['total']}, {baseline['by_kind']}"
        )

        def kill_pool_process(batch):
            # Mid-chunk: a chunk claimed by this very process (its row names the pid) is running.
            pid = child_of(procs[0])
            busy = BatchChunk.objects.filter(
                batch=batch, status=BatchChunk.Status.RUNNING, worker__endswith=f"/{pid}"
            )
            deadline = time.monotonic() + 10
            while not busy.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            running = busy.exists()
            os.kill(pid, signal.SIGKILL)
            return "pool process killed " + ("mid-chunk" if running else "between chunks")

        def kill_worker(batch):
            os.killpg(procs[0].pid, signal.SIGKILL)
            procs[0].wait()
            time.sleep(1)
            procs[0] = start_worker(1)
            return "worker killed and restarted"

        def restart_redis(batch):
            nonlocal redis
            redis_down(redis)
            time.sleep(2)
            redis = redis_up()
            return "redis restarted"

        def refuse_postgres(batch):
            name = settings.DATABASES["default"]["NAME"]
            admin_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            try:
                admin_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
                time.sleep(ARGS.outage)
            finally:
                admin_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            close_old_connections()
            connection.close()
            return f"postgres refused connections for {ARGS.outage:.0f} s"

        scenarios = [
            ("worker pool process killed", kill_pool_process),
            ("worker killed and restarted", kill_worker),
            ("redis restarted", restart_redis),
            ("postgres refusing connections", refuse_postgres),
        ]
        for name, disturb in scenarios:
            batch, result, note = run_batch(disturb)
            attempts = sum(batch.chunks.values_list("attempts", flat=True))
            ok = (
                batch.status == PaymentBatch.Status.COMPUTED
                and result == baseline
                and result["lines"] == result["distinct"]
                and batch.line_count == baseline["lines"]
            )
            failures += not ok
            print(
                f"{'PASS' if ok else 'FAIL'}  {name}: {note}; {result['lines']} lines, "
                f"total {result['total']}, {batch.chunks_total} chunks, {attempts} attempts"
            )
        ok, note = poisoned_line(baseline)
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  poisoned line: {note}")
    finally:
        stop_workers([p for p in procs if p.poll() is None])
        redis_down(redis)
        shutil.rmtree(REDIS_DIR, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark a province's batches for one month, computed at once.

    python manage.py bench_province --households 3211=300000,3204=30000 --workers 2
    python manage.py bench_province --households 3211=300000,3204=30000 --level city
    python manage.py bench_province --households 3211=20000,3204=2000 --one-by-one   # as before

Generates (or reuses) each city's caseload as bench_payroll does, creates the draft batch of
every county (``--level county``, the default) or city of those cities that has enrolments in
force in the month, the biggest first, and computes them together (payments.batches.
compute_batches: chunks queued round-robin across the batches, each batch closed as soon as its
last chunk is done). Prints each batch's households, lines, chunks and the second it was
computed at, counted from the start, then the end-to-end time, households/s and the CPU seconds
spent. ``--one-by-one`` queues each batch's chunks after the previous batch's (compute_batch once
per batch, in the same order): how a province's batches were queued before, for comparison.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from beneficiaries.models import Household, Region
from casework.selectors import enrolments_in_force
from payments import batches
from payments.management.commands.bench_payroll import (
    Command as BenchPayroll,
)
from payments.management.commands.bench_payroll import (
    cpu_used,
    drop_batches_under,
    process_cpu,
    start_workers,
    stop_workers,
)
from payments.management.commands.run_payroll import parse_month
from payments.models import PaymentBatch


def parse_sizes(text: str) -> dict[str, int]:
    """ "3211=300000,3204=30000" → {"3211": 300000, "3204": 30000}."""
    sizes = {}
    for part in text.split(","):
        city, _, count = part.strip().partition("=")
        if len(city) != 4 or not city.isdigit() or not count.isdigit() or int(count) < 1:
            raise CommandError(f"--households: {part!r} is not CITY=HOUSEHOLDS (e.g. 3211=20000)")
        sizes[city] = int(count)
    return sizes


class Command(BaseCommand):
    help = "Compute every city's or county's batch of a province for one month at once; print each."

    def add_arguments(self, parser):
        parser.add_argument(
            "--households", required=True, help="CITY=N,...: households per city (4-digit codes)"
        )
        parser.add_argument("--level", choices=("county", "city"), default="county")
        parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
        parser.add_argument("--month", default="2024-08")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--chunk-size", type=int, default=settings.PAYROLL_CHUNK_SIZE)
        parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait")
        parser.add_argument(
            "--one-by-one",
            action="store_true",
            help="queue each batch's chunks after the previous batch's (for comparison)",
        )

    def handle(self, *args, households, level, workers, month, seed, chunk_size, timeout, **opts):
        month = parse_month(month)
        sizes = parse_sizes(households)
        settings.PAYROLL_CHUNK_SIZE = chunk_size
        real = connection.vendor == "postgresql" and bool(settings.CELERY_BROKER_URL)
        bench = BenchPayroll(stdout=self.stdout, stderr=self.stderr)
        for city, count in sizes.items():
            bench._caseload(city=city, households=count, seed=seed)
        regions = self._regions(cities=list(sizes), level=level, month=month)
        if not regions:
            raise CommandError("no region with enrolments in force in the month")
        bench._settle()
        procs = start_workers(workers) if real else []
        if procs:
            self.stdout.write(f"workers: {workers} ready")
        try:
            cpu_before = process_cpu()
            started_at, started = timezone.now(), time.perf_counter()
            drafts = [batches.create_batch(region=r, month=month, by=None) for r, _n in regions]
            if opts["one_by_one"]:
                for batch in drafts:
                    batches.compute_batch(batch=batch, inline=not real)
            else:
                batches.compute_batches(batches=drafts, inline=not real)
            computed = self._wait(drafts, started=started, timeout=timeout)
            elapsed = time.perf_counter() - started
            cpu = cpu_used(cpu_before, process_cpu(), worker_groups={p.pid for p in procs})
        finally:
            stop_workers(procs)
        self._report(
            computed,
            regions=regions,
            started_at=started_at,
            elapsed=elapsed,
            cpu=cpu,
            mode=(f"PostgreSQL + Celery, {workers} worker(s)" if real else "embedded, in-process")
            + ("; one batch after another" if opts["one_by_one"] else "; round-robin"),
        )

    def _regions(self, *, cities: list[str], level: str, month) -> list[tuple[Region, int]]:
        """The regions whose batches the province computes, with their enrolments in force, the
        biggest first; every bench batch of the month under those cities (either level) goes
        first, since a city's batch and its counties' would pay the same enrolments."""
        found = []
        for city in cities:
            drop_batches_under(city=city, month=month)
            for region in Region.objects.filter(code__startswith=city, level=level):
                count = enrolments_in_force(region_prefix=region.prefix, month=month).count()
                if count:
                    found.append((region, count))
        return sorted(found, key=lambda pair: (-pair[1], pair[0].code))

    def _wait(self, drafts: list[PaymentBatch], *, started: float, timeout: int):
        pending = {batch.pk for batch in drafts}
        while pending:
            for batch in PaymentBatch.objects.filter(pk__in=pending):
                if batch.status == PaymentBatch.Status.COMPUTED:
                    pending.discard(batch.pk)
                elif batch.error:
                    raise CommandError(f"batch {batch.pk} ({batch}) stopped: {batch.error}")
            if time.perf_counter() - started > timeout:
                raise CommandError(f"batches {sorted(pending)} not computed after {timeout} s")
            if pending:
                time.sleep(0.05)
        return list(
            PaymentBatch.objects.filter(pk__in=[b.pk for b in drafts]).select_related("region")
        )

    def _report(self, computed, *, regions, started_at, elapsed: float, cpu: dict, mode: str):
        out = self.stdout.write
        out(f"mode: {mode}; chunk size {settings.PAYROLL_CHUNK_SIZE}")
        by_region = {batch.region_id: batch for batch in computed}
        households_total = lines_total = 0
        for region, enrolments in regions:
            batch = by_region[region.pk]
            households = Household.objects.filter(region_code__startswith=region.prefix).count()
            households_total += households
            lines_total += batch.line_count
            done = (batch.updated_at - started_at).total_seconds()
            out(
                f"batch {region.code} {region.name}: households {households}, enrolments "
                f"{enrolments}, lines {batch.line_count}, total {batch.total_amount}, chunks "
                f"{batch.chunks_total}; computed at {done:.2f} s"
            )
        out(f"batches: {len(computed)}  households: {households_total}  lines: {lines_total}")
        out("cpu seconds: " + ", ".join(f"{who} {seconds:.2f}" for who, seconds in cpu.items()))
        out(f"end to end: {elapsed:.2f} s")
        out(f"households/s: {households_total / elapsed:.0f}")

"""Create and compute a region's monthly payment batch.

python manage.py run_payroll --month 2024-08 --region 3211 [--if-absent] [--sync] [--wait]
python manage.py run_payroll --month 2024-08 --region 3211 --recompute
python manage.py run_payroll --month 2024-08 --region 3211 --resume

With a broker, the chunks go to Celery workers; the command first checks that one answers and
says so when none does (``--inline-without-worker``, as ``make demo`` runs it, then computes in
this process instead of leaving the batch waiting).
"""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError

from beneficiaries.models import Region
from config.celery import answering_workers, app
from core import months
from core.exceptions import DomainError
from payments import batches
from payments.models import PaymentBatch

# How long a worker has to answer the ping before the batch is said to wait (or computed here).
PING_SECONDS = 3
START_A_WORKER = (
    "To compute batches in the background, start a worker in another shell: "
    ".venv/bin/celery -A config worker -l info"
)


def parse_month(value: str) -> datetime.date:
    try:
        return months.parse_month(value)
    except ValueError:
        raise CommandError(f"--month must be YYYY-MM, not {value!r}")


def find_region(code: str) -> Region:
    region = Region.objects.filter(code=code.ljust(12, "0")).first()
    if region is None:
        raise CommandError(f"no region with code {code}")
    return region


class Command(BaseCommand):
    help = "Create and compute the monthly payment batch of a city or county."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--region", required=True, help="city or county code, e.g. 3211")
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing when the batch already exists"
        )
        parser.add_argument(
            "--sync", action="store_true", help="compute every chunk in this process"
        )
        parser.add_argument("--wait", action="store_true", help="wait until the batch is computed")
        parser.add_argument(
            "--inline-without-worker",
            action="store_true",
            help=f"compute in this process when no worker answers within {PING_SECONDS} s",
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--recompute", action="store_true", help="recompute a computed batch")
        action.add_argument("--resume", action="store_true", help="queue again the chunks not done")

    def handle(
        self,
        *args,
        month,
        region,
        if_absent,
        sync,
        wait,
        recompute,
        resume,
        inline_without_worker,
        **options,
    ):
        month = parse_month(month)
        region = find_region(region)
        existing = PaymentBatch.objects.filter(region=region, month=month).first()
        if existing is not None and if_absent and not (recompute or resume):
            self.stdout.write(f"batch {existing.pk} exists ({existing.status}); nothing done")
            return
        if not sync and not app.conf.task_always_eager:
            sync = self._no_worker(fall_back=inline_without_worker, resume=resume)
        try:
            if recompute or resume:
                if existing is None:
                    raise CommandError("no batch for that region and month")
                if resume:
                    queued = batches.resume_batch(batch=existing, inline=sync)
                    self.stdout.write(f"batch {existing.pk}: {queued} chunk(s) queued again")
                    existing.refresh_from_db()
                    batch = existing
                else:
                    batch = batches.recompute_batch(batch=existing, by=None, inline=sync)
            else:
                batch = batches.create_batch(region=region, month=month, by=None)
                batch = batches.compute_batch(batch=batch, inline=sync)
        except DomainError as error:
            raise CommandError(str(error.message))
        if wait:
            batch = self._wait(batch)
        self.stdout.write(
            f"batch {batch.pk} {region.name} {month:%Y-%m}: {batch.status}, "
            f"chunks {batch.chunks_done}/{batch.chunks_total}, lines {batch.line_count}, "
            f"total {batch.total_amount}"
        )
        if batch.status == PaymentBatch.Status.FAILED:
            raise CommandError(f"batch {batch.pk} failed: {batch.error}; fix it, then --resume")

    def _no_worker(self, *, fall_back: bool, resume: bool) -> bool:
        """Say whether a worker will take the chunks; True: compute them here instead."""
        try:
            workers = answering_workers(timeout=PING_SECONDS)
        except OperationalError as error:
            if not fall_back or resume:
                raise CommandError(f"the Celery broker does not answer: {error}")
            self.stdout.write(
                self.style.WARNING(
                    f"The Celery broker does not answer ({error}): computing the batch in this "
                    "process."
                )
            )
            return True
        if workers:
            self.stdout.write(f"chunks queued for {len(workers)} worker(s): {', '.join(workers)}")
            return False
        if fall_back and not resume:
            self.stdout.write(
                self.style.WARNING(
                    f"No Celery worker answered within {PING_SECONDS} s: computing the batch in "
                    f"this process. {START_A_WORKER}"
                )
            )
            return True
        self.stdout.write(
            self.style.WARNING(
                f"No Celery worker answered within {PING_SECONDS} s: the batch waits in the queue "
                f"until one starts. {START_A_WORKER}"
            )
        )
        return False

    def _wait(self, batch: PaymentBatch) -> PaymentBatch:
        while batch.status == PaymentBatch.Status.COMPUTING:
            time.sleep(1)
            batch.refresh_from_db()
            self.stdout.write(f"  chunks {batch.chunks_done}/{batch.chunks_total}")
        return batch

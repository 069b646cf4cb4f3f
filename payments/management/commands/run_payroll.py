"""Create and compute a region's monthly payment batch.

python manage.py run_payroll --month 2024-08 --region 3211 [--if-absent] [--sync] [--wait]
python manage.py run_payroll --month 2024-08 --region 3211 --recompute
python manage.py run_payroll --month 2024-08 --region 3211 --resume
"""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from beneficiaries.models import Region
from core import months
from core.exceptions import DomainError
from payments import batches
from payments.models import PaymentBatch


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
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--recompute", action="store_true", help="recompute a computed batch")
        action.add_argument("--resume", action="store_true", help="queue again the chunks not done")

    def handle(self, *args, month, region, if_absent, sync, wait, recompute, resume, **options):
        month = parse_month(month)
        region = find_region(region)
        existing = PaymentBatch.objects.filter(region=region, month=month).first()
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
                    batch = batches.recompute_batch(batch=existing, inline=sync)
            elif existing is not None and if_absent:
                self.stdout.write(f"batch {existing.pk} exists ({existing.status}); nothing done")
                return
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

    def _wait(self, batch: PaymentBatch) -> PaymentBatch:
        while batch.status == PaymentBatch.Status.COMPUTING:
            time.sleep(1)
            batch.refresh_from_db()
            self.stdout.write(f"  chunks {batch.chunks_done}/{batch.chunks_total}")
        return batch

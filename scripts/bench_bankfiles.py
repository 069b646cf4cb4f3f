"""Seconds and peak memory to export a batch's bank files and reconcile its return file (prints
figures; not a test).

    python scripts/bench_bankfiles.py [--households 100000] [--failed 0.01]

Runs in one transaction that is rolled back, with bank files under a temporary folder, so the
database is left as it was. Use DATABASE_URL for PostgreSQL (lines are written with COPY there).
"""

import argparse
import datetime
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from beneficiaries.models import Household, Region, User  # noqa: E402
from payments import explanations, payroll_io  # noqa: E402
from payments.approval import approve_batch  # noqa: E402
from payments.bankfiles import export_batch  # noqa: E402
from payments.models import PaymentBatch  # noqa: E402
from payments.reconciliation import import_return_file  # noqa: E402

MONTH = datetime.date(2031, 1, 1)


class Rollback(Exception):
    pass


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(households: int) -> PaymentBatch:
    city = Region.objects.create(code="329900000000", name="基准市", level="city")
    village = Region.objects.create(
        code="329901001001", name="基准村", level="village", parent=city
    )
    if connection.vendor == "postgresql":
        # Setup only: history triggers on a bulk insert of households are not what is measured.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    Household.objects.bulk_create(
        (
            Household(
                village=village,
                region_code=village.code,
                address=f"基准路{n}号",
                hukou_type="urban",
                bank_name="江苏银行",
                bank_account_holder=f"户主{n}",
                bank_account_number=f"62220200{n:011d}",
            )
            for n in range(households)
        ),
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")
    maker = User.objects.create_user(username="bench-files-maker", role="finance", region=city)
    batch = PaymentBatch.objects.create(
        region=city, month=MONTH, prepared_by=maker, status="computed"
    )
    ids = Household.objects.filter(region_code=village.code).values_list("id", flat=True)
    explanation = explanations.make([])
    explanations.store({explanation.digest: explanation.text})
    payroll_io.insert_lines(
        [
            (
                batch.pk,
                MONTH.isoformat(),
                "regular",
                None,
                hid,
                village.code,
                "dibao",
                "",
                str(500 + hid % 1300),
                explanation.digest,
                "江苏银行",
                f"户主{hid}",
                f"62220200{hid:011d}",
                "pending",
                "",
            )
            for hid in ids
        ]
    )
    return batch


def return_content(path: Path, failed_share: float) -> bytes:
    every = max(1, round(1 / failed_share)) if failed_share else 0
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.startswith("D,"):
            line += ",F,账户已销户" if every and n % every == 0 else ",S,"
        out.append(line)
    return ("\r\n".join(out) + "\r\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--failed", type=float, default=0.01, help="share of failed transfers")
    args = parser.parse_args()
    settings.BANK_FILE_ROOT = Path(tempfile.mkdtemp(prefix="bench-bankfiles-"))
    try:
        with transaction.atomic():
            started = time.perf_counter()
            batch = setup(args.households)
            checker = User.objects.create_user(
                username="bench-files-checker", role="finance", region=batch.region
            )
            approve_batch(batch=batch, by=checker)
            elapsed = time.perf_counter() - started
            print(f"setup: {args.households} households and lines in {elapsed:.1f} s")

            started = time.perf_counter()
            csv_file, xlsx_file = export_batch(batch=batch, by=checker)
            print(
                f"export CSV + XLSX: {csv_file.record_count} transfers, "
                f"total {csv_file.total_amount}, "
                f"{time.perf_counter() - started:.1f} s, peak RSS {peak_mb():.0f} MB"
            )
            content = return_content(settings.BANK_FILE_ROOT / csv_file.path, args.failed)

            started = time.perf_counter()
            bank_return = import_return_file(
                batch=batch, content=content, filename="r.csv", by=checker
            )
            print(
                f"reconcile: {bank_return.paid_count} paid, {bank_return.failed_count} failed, "
                f"{time.perf_counter() - started:.1f} s, peak RSS {peak_mb():.0f} MB"
            )
            raise Rollback
    except Rollback:
        print("rolled back, files removed")
    finally:
        shutil.rmtree(settings.BANK_FILE_ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()

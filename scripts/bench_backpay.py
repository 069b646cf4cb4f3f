"""Seconds the correction step adds to a batch when a standard is raised from a past date (prints
figures; not a test).

    python scripts/bench_backpay.py [--households 20000]

On a fresh database (``migrate``): loads the seed standards, generates a Zhenjiang caseload with
``generate_caseload --reset``, computes and approves 2030-01 and 2030-02 (inline), enters a new
standard effective 2030-01, then times ``correction_lines`` for 2030-03: every enrolment's two
past months are computed again and back-paid. Nothing is written by the timed step.
"""

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from beneficiaries.models import Region, User  # noqa: E402
from core.db import without_triggers  # noqa: E402
from payments.approval import approve_batch  # noqa: E402
from payments.batches import compute_batch, create_batch  # noqa: E402
from payments.corrections import correction_lines  # noqa: E402
from payments.models import PaymentBatch, PaymentLine  # noqa: E402
from rules.models import Standard  # noqa: E402
from rules.parameters import load_standards  # noqa: E402

MONTHS = [datetime.date(2030, m, 1) for m in (1, 2, 3)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=20_000)
    args = parser.parse_args()
    load_standards()
    city = Region.objects.get(code="321100000000")
    with without_triggers():  # the previous run's approved batches
        PaymentLine.objects.filter(batch__region=city, batch__month__in=MONTHS).delete()
        PaymentBatch.objects.filter(region=city, month__in=MONTHS).delete()
    Standard.objects.filter(region=city, effective_from=MONTHS[0]).delete()
    call_command(
        "generate_caseload", "--city", "3211", "--households", str(args.households), "--reset"
    )
    maker, _ = User.objects.get_or_create(
        username="bench-maker", defaults={"role": "finance", "region": city}
    )
    checker, _ = User.objects.get_or_create(
        username="bench-checker", defaults={"role": "finance", "region": city}
    )
    for month in MONTHS[:2]:
        started = time.perf_counter()
        batch = compute_batch(batch=create_batch(region=city, month=month, by=maker), inline=True)
        approve_batch(batch=batch, by=checker)
        print(f"{month:%Y-%m}: {batch.line_count} lines in {time.perf_counter() - started:.1f} s")
    Standard.objects.create(
        region=city, component="standard", value=Decimal("990"), effective_from=MONTHS[0]
    )
    march = create_batch(region=city, month=MONTHS[2], by=maker)
    started = time.perf_counter()
    lines = correction_lines(batch=march)
    elapsed = time.perf_counter() - started
    total = sum(line.amount for line in lines)
    print(
        f"correction_lines after a raise from {MONTHS[0]:%Y-%m}: {len(lines)} back-pay lines, "
        f"total {total}, {elapsed:.1f} s ({elapsed / max(len(lines), 1) * 1e6:.0f} µs a line)"
    )


if __name__ == "__main__":
    main()

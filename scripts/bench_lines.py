"""CPU seconds a worker spends turning one chunk's facts into lines (prints figures; not a test).

    DATABASE_URL=... python scripts/bench_lines.py [--month 2024-08] [--region 3211] [--runs 5]

Reads the first chunk of enrolments in force (PAYROLL_CHUNK_SIZE) and their households from a
database with a caseload (``bench_payroll`` leaves one), timed: the CPU this process spends
receiving the rows and making them into facts. Then times ``payments.lines.LineBuilder`` over
them: "cold" with the worker's memos emptied (every distinct facts key computed, every
explanation rendered and digested), "warm" right after (what a worker does once it has seen the
facts), and the lines' COPY text. CPU time of this process only, so other work on the machine
moves it less than the batch's wall time: the figure to compare two versions of the reads, the
engine, the explanations, the line loop or the COPY text. Then the wall time of storing the
chunk's explanations as new rows (``payments.explanations.store``, under digests no row has,
rolled back): what a chunk pays in the first month of a new standard.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from beneficiaries.models import Region  # noqa: E402
from casework.selectors import enrolments_in_force  # noqa: E402
from payments import explanations, lines, payroll_io  # noqa: E402
from payments.management.commands.run_payroll import find_region, parse_month  # noqa: E402
from payments.models import PaymentBatch  # noqa: E402
from rules import steps  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", default="2024-08")
    parser.add_argument("--region", default="3211")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    region: Region = find_region(options.region)
    month = parse_month(options.month)
    batch = PaymentBatch(pk=0, region=region, month=month)  # never saved: lines are not written
    enrolments = enrolments_in_force(region_prefix=region.prefix, month=month)
    size = settings.PAYROLL_CHUNK_SIZE
    ids = list(enrolments.order_by("id").values_list("id", flat=True)[:size])
    if not ids:
        sys.exit(f"no enrolment in force in {region.code} in {options.month}")

    def read() -> tuple[list, dict]:
        rows = payroll_io.read_enrolments(enrolments=enrolments, first_id=ids[0], last_id=ids[-1])
        households = payroll_io.read_households(
            household_ids={row.household_id for row in rows}, month=month
        )
        return rows, households

    reads = []
    for _ in range(options.runs):
        gc.disable()
        started = time.process_time()
        rows, households = read()
        reads.append(time.process_time() - started)
        gc.enable()
    memos = (
        lines._RESULTS,
        explanations._FRAGMENTS,
        explanations._DIGESTS,
        explanations._VERSIONS,
        steps._NUMBER_JSON,
    )

    def run() -> tuple[float, int]:
        builder = lines.LineBuilder(batch=batch, cpi_rise_percent=None)
        gc.disable()  # as in a chunk (payments.batches.gc_paused)
        started = time.process_time()
        builder.lines(rows, households)
        elapsed = time.process_time() - started
        gc.enable()
        return elapsed, len(builder.explanations)

    cold, warm = [], []
    for _ in range(options.runs):
        for memo in memos:
            memo.clear()
        seconds, distinct = run()
        cold.append(seconds)
        warm.append(run()[0])
    builder = lines.LineBuilder(batch=batch, cpi_rise_percent=None)
    made = builder.lines(rows, households)
    copy_texts = []
    for _ in range(options.runs):
        started = time.process_time()
        "".join(payroll_io._copy_blocks(made))
        copy_texts.append(time.process_time() - started)
    texts = {digest: builder.explanations[digest] for digest in builder.explanations}
    stored = [store_as_new(texts, run) for run in range(options.runs)]
    load = os.getloadavg()[0]
    size = sum(map(len, texts.values())) // len(texts)
    print(f"{len(rows)} enrolments, {distinct} distinct explanations of {size} bytes on average")
    for label, times, unit in (
        ("read (enrolments, accounts, facts, coverage)", reads, "CPU s"),
        ("cold", cold, "CPU s"),
        ("warm", warm, "CPU s"),
        ("COPY text of the lines", copy_texts, "CPU s"),
        ("store as new rows", stored, "s"),
    ):
        runs = " ".join(f"{t:.3f}" for t in times)
        print(f"{label}: median {statistics.median(times):.3f} {unit}  ({runs})")
    print(f"load average {load:.1f}")


class _RolledBack(Exception):
    pass


def store_as_new(texts: dict[str, str], run: int) -> float:
    """Seconds to store ``texts`` under digests no row has (the run number and a mark that no
    SHA-256 hex digest has), in a transaction rolled back."""
    fresh = {f"{run:02x}{digest[2:-1]}z": text for digest, text in texts.items()}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            explanations.store(fresh)
            elapsed = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        return elapsed


if __name__ == "__main__":
    main()

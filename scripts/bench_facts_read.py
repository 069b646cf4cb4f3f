"""A chunk's household facts read two ways, compared and timed (prints figures; not a test).

    DATABASE_URL=... python scripts/bench_facts_read.py [--month 2024-08] [--region 3211]
                                                        [--chunks 0]

For each chunk of the batch (PAYROLL_CHUNK_SIZE enrolments in force; ``--chunks N``: the first N,
0 for all), reads its households' facts with the batch's read (``payroll_io.read_households``:
one row of facts by month per household) and with the join of members, incomes, conditions and
moves it replaced (``tests.payments.join_reference``), one after the other, checks the two are
equal, and sums per way: the CPU seconds of the PostgreSQL backend serving this process (from
/proc, so other work on the machine barely moves it), of this process, and the wall time.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from casework.selectors import enrolments_in_force  # noqa: E402
from payments import payroll_io  # noqa: E402
from payments.management.commands.run_payroll import find_region, parse_month  # noqa: E402
from tests.payments.join_reference import joined_households  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) the PostgreSQL backend ``pid`` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", default="2024-08")
    parser.add_argument("--region", default="3211")
    parser.add_argument("--chunks", type=int, default=0)
    options = parser.parse_args()
    region = find_region(options.region)
    month = parse_month(options.month)
    enrolments = enrolments_in_force(region_prefix=region.prefix, month=month)
    bounds = payroll_io.chunk_bounds(enrolments=enrolments, size=settings.PAYROLL_CHUNK_SIZE)
    if options.chunks:
        bounds = bounds[: options.chunks]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cursor.execute("SET max_parallel_workers_per_gather = 0; SET jit = off")
    ways = {"narrow row": payroll_io.read_households, "join": joined_households}
    spent = {name: [0.0, 0.0, 0.0] for name in ways}
    households = 0
    for first_id, last_id in bounds:
        rows = payroll_io.read_enrolments(enrolments=enrolments, first_id=first_id, last_id=last_id)
        ids = {row.household_id for row in rows}
        households += len(ids)
        read = {}
        for name, reader in ways.items():
            server, client, wall = backend_cpu(pid), time.process_time(), time.perf_counter()
            read[name] = reader(household_ids=ids, month=month)
            spent[name][0] += backend_cpu(pid) - server
            spent[name][1] += time.process_time() - client
            spent[name][2] += time.perf_counter() - wall
        if read["narrow row"] != read["join"]:
            sys.exit(f"chunk {first_id}–{last_id}: the two reads differ")
    print(f"{len(bounds)} chunks, {households} households, month {options.month}: equal")
    for name, (server, client, wall) in spent.items():
        print(
            f"{name:>10}: PostgreSQL backend {server:.2f} CPU-s, "
            f"this process {client:.2f} CPU-s, wall {wall:.2f} s"
        )


if __name__ == "__main__":
    main()

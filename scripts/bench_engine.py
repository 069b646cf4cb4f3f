"""Microseconds per engine call for typical households (prints figures; not a test).

    python scripts/bench_engine.py [--calls 200000]

Parameters come from seeds/data/standards.json (no database needed beyond Django settings).
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

from rules.engine import (  # noqa: E402
    EnrolmentFacts,
    HouseholdFacts,
    MemberFacts,
    compute_amount,
    price_subsidy,
)
from rules.parameters import build_params, read_seed_rows  # noqa: E402


def household(*members: tuple[int, str], **traits) -> HouseholdFacts:
    return HouseholdFacts(
        household_id=1,
        members=tuple(
            MemberFacts(member_id=i, age=age, counted_income=Decimal(income), **traits)
            for i, (age, income) in enumerate(members, 1)
        ),
    )


def cases(zhenjiang, changzhou):
    dibao = EnrolmentFacts(enrolment_id=1, category="dibao")
    return [
        (
            "dibao, 3 adults, none in a supplement class (ZJ)",
            dibao,
            household((40, "900"), (38, "0"), (35, "0")),
            zhenjiang,
        ),
        (
            "dibao, 2 adults and a minor (ZJ supplement)",
            dibao,
            household((40, "900"), (38, "0"), (12, "0")),
            zhenjiang,
        ),
        (
            "dibao, 3 adults, no supplements in the city (CZ)",
            dibao,
            household((40, "900"), (38, "0"), (35, "0")),
            changzhou,
        ),
        (
            "dibao, 2 members, one elderly (ZJ)",
            dibao,
            household((70, "300"), (45, "250.50")),
            zhenjiang,
        ),
        ("dibao, living alone (ZJ)", dibao, household((66, "120")), zhenjiang),
        (
            "tekun, partial care (ZJ)",
            EnrolmentFacts(enrolment_id=2, category="tekun", member_id=1, care_level="partial"),
            household((80, "0")),
            zhenjiang,
        ),
        (
            "orphan in the community (ZJ)",
            EnrolmentFacts(enrolment_id=3, category="orphan_community", member_id=1),
            household((9, "0")),
            zhenjiang,
        ),
    ]


def bench(label: str, call, calls: int) -> None:
    # CPU time as well as wall time: on a shared machine the wall clock also counts waiting.
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{cpu / calls * 1e6:8.2f} µs CPU {wall / calls * 1e6:8.2f} µs wall  {label}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    rows = read_seed_rows()[1]
    month = datetime.date(2024, 8, 1)
    zhenjiang = build_params(rows, region_code="321102001001", month=month)
    changzhou = build_params(rows, region_code="320402001001", month=month)
    print(f"{calls} calls each, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}")
    for label, enrolment, facts, params in cases(zhenjiang, changzhou):
        bench(
            f"compute_amount: {label}",
            lambda e=enrolment, f=facts, p=params: compute_amount(e, f, p),
            calls,
        )
    label, enrolment, facts, params = cases(zhenjiang, changzhou)[0]
    bench(
        "compute_amount + explanation(): dibao, 3 members",
        lambda: compute_amount(enrolment, facts, params).explanation(),
        calls // 10,
    )
    bench(
        "price_subsidy: dibao, 3 members, CPI 3.2%",
        lambda: price_subsidy(enrolment, facts, params, Decimal("3.2")),
        calls,
    )


if __name__ == "__main__":
    main()

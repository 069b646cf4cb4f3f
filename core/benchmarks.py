"""Helpers of the benchmark commands that time requests: the SQL time of a request, the load
average and percentiles. Figures are printed, never asserted (tests hold no timings)."""

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection


class QueryClock:
    """Adds up the time of each SQL statement run (sent, run and its rows received)."""

    def __init__(self):
        self.seconds = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (as ``uptime`` shows them)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Timings:
    """Per request, in milliseconds: wall (server) time, SQL time, this process's CPU time;
    and the number of SQL statements."""

    wall: list[float]
    database: list[float]
    cpu: list[float]
    queries: list[int]

    HEADER = (
        f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'db p50':>8} {'db p95':>8} "
        f"{'cpu p50':>8} {'queries':>8}"
    )

    def row(self) -> str:
        return (
            f"{statistics.median(self.wall):8.1f} {percentile(self.wall, 95):8.1f} "
            f"{max(self.wall):8.1f} {statistics.median(self.database):8.1f} "
            f"{percentile(self.database, 95):8.1f} {statistics.median(self.cpu):8.1f} "
            f"{statistics.median(self.queries):8.0f}"
        )


def time_calls(calls: list[Callable], *, ok=(200,), warm: bool = True) -> Timings:
    """Run each call (a request through the test client) once, timed; a status not in ``ok``
    raises ``RuntimeError``. With ``warm`` the first call is run once more before, untimed."""
    if warm:
        calls[0]()
    wall, cpu, database, queries = [], [], [], []
    for call in calls:
        clock = QueryClock()
        started, cpu_started = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(clock):
            response = call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        database.append(clock.seconds * 1000)
        queries.append(clock.count)
        if response.status_code not in ok:
            raise RuntimeError(f"answered {response.status_code}: {response.content[:300]!r}")
    return Timings(wall, database, cpu, queries)

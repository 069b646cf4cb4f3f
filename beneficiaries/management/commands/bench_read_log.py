"""What the read log adds to a household read, then roll everything back.

    python manage.py bench_read_log [--requests 400] [--members 4]

Reads one household (``GET /api/households/{id}/``, signed in with a session, as a caseworker)
``--requests`` times with the read log and as many times with ``log_read`` replaced by nothing,
in alternating rounds so both see the same machine load. Prints the median time of a request
each way, the difference, and the queries of each request. Nothing stays in the database: the
region, the user, the household and the read entries are created in a transaction that is
rolled back.
"""

import datetime
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from beneficiaries import readlog, services
from beneficiaries.management.commands.bench_import import Command as ImportBench
from beneficiaries.models import ReadEntry, Region
from core.idnumbers import make_resident_id

ROUNDS = 10


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark the read log's cost on a household detail read (all work is rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=400)
        parser.add_argument("--members", type=int, default=4)

    def handle(self, *args, requests: int, members: int, **options):
        try:
            with transaction.atomic():
                result = self.measure(requests=requests, members=members)
                raise Rollback
        except Rollback:
            pass
        logged, bare, queries_logged, queries_bare, entries = result
        self.stdout.write(
            f"household detail read, {requests} requests each way ({members} members):\n"
            f"  with the read log    median {logged * 1000:.2f} ms, {queries_logged} queries\n"
            f"  without it           median {bare * 1000:.2f} ms, {queries_bare} queries\n"
            f"  the read log adds    {(logged - bare) * 1000:.2f} ms a request "
            f"({(logged - bare) / bare:+.1%}), {queries_logged - queries_bare} query\n"
            f"  entries written      {entries}; rolled back"
        )

    def measure(self, *, requests: int, members: int):
        user = ImportBench().make_region_and_user()
        village = Region.objects.get(code="999901001001")
        household = services.register_household(
            village=village, address="基准路1号", hukou_type="rural", by=user
        )
        for n in range(members):
            services.add_member(
                household=household,
                name=f"成员{n}",
                id_number=make_resident_id("321102", datetime.date(1955, 1, 1), n + 1, "F"),
                relation="head" if n == 0 else "other",
                by=user,
            )
        client = Client()
        client.force_login(user)
        url = f"/api/households/{household.pk}/"

        def timed(count: int) -> list[float]:
            times = []
            for _ in range(count):
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
            return times

        real = readlog.log_read
        silent = lambda **kwargs: None  # noqa: E731
        timed(20)  # warm up
        with_log, without = [], []
        for _ in range(ROUNDS):
            with_log += timed(requests // ROUNDS)
            readlog.log_read = silent
            try:
                without += timed(requests // ROUNDS)
            finally:
                readlog.log_read = real
        with CaptureQueriesContext(connection) as logged_queries:
            client.get(url)
        readlog.log_read = silent
        try:
            with CaptureQueriesContext(connection) as bare_queries:
                client.get(url)
        finally:
            readlog.log_read = real
        return (
            statistics.median(with_log),
            statistics.median(without),
            len(logged_queries),
            len(bare_queries),
            ReadEntry.objects.filter(household=household).count(),
        )

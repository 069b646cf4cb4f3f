"""Server time of the registry pages at real size: household search and the household page.

Run it on a database holding a generated caseload (``manage.py generate_caseload``; with
``--households N`` it generates one first when the city has fewer). It signs in a township
caseworker of the township with the most households, then sends each request ``--requests``
times through Django's test client (the whole stack: middleware, view, queries, template) and
prints p50, p95 and the slowest, in milliseconds, with the database time (the sum of the
request's SQL statements' times, each sent, run and its rows received), this
process's CPU time (the Python side: views, templates; wall time less these two is mostly
waiting for a CPU on a loaded machine) and the queries per request. The machine's load average
is printed before and after: on a shared machine wall times follow it, the database time and
the query count much less.

* search by full name, by the first two characters of a name, by resident ID, by a piece of
  an address and by household number (the POST that an htmx search sends: its results come back
  at once), and the next page of a name search (GET with the cursor);
* the household page of households picked at random in the township, and its history of
  changes (the second request the page makes as it loads).
"""

import os
import random
import statistics
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client

from beneficiaries.models import Household, Member, Region, User
from core.roles import Role

BENCH_USER = "bench-caseworker"
HTMX = {"HX-Request": "true"}


class Command(BaseCommand):
    help = "Measure the household search and the household page (p50/p95 server time)."

    def add_arguments(self, parser):
        parser.add_argument("--city", default="3211", help="4-digit city code")
        parser.add_argument("--households", type=int, default=0, help="generate up to N first")
        parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, city, households, requests, seed, **options):
        if households:
            have = Household.objects.filter(region_code__startswith=city).count()
            if have < households:
                call_command("generate_caseload", city=city, households=households - have,
                             append=have > 0, stdout=self.stderr)  # fmt: skip
        township = self.busiest_township(city)
        user = self.caseworker(township)
        client = Client()
        client.force_login(user)
        rng = random.Random(seed)
        prefix = township.prefix
        in_town = Household.objects.filter(region_code__startswith=prefix)
        total = in_town.count()
        self.stdout.write(
            f"city {city}: {Household.objects.filter(region_code__startswith=city).count():,} "
            f"households; township {township.name} ({township.code}): {total:,} households; "
            f"{requests} requests of each kind"
        )
        self.stdout.write(f"load average before: {load_average()}")
        members = list(
            Member.objects.filter(household__region_code__startswith=prefix, is_active=True)
            .order_by("?")
            .values_list("name", "id_number", "household__address")[: requests * 2]
        )
        ids = list(in_town.order_by("?").values_list("pk", flat=True)[:requests])
        if not members or not ids:
            raise CommandError(f"no households in {township.name}: generate a caseload first")

        def pick(values, n):
            return [rng.choice(values) for _ in range(n)]

        def search(text):
            return lambda: client.post("/households/", {"q": text}, headers=HTMX)

        def address_piece(address: str) -> str:
            start = rng.randrange(0, max(len(address) - 4, 1))
            return address[start : start + 4]

        token_response = client.post("/households/", {"q": members[0][0][0]})
        next_page = f"{token_response['Location']}&after={ids[0]}"
        runs = {
            "search: full name": [search(m[0]) for m in pick(members, requests)],
            "search: name's first two characters": [
                search(m[0][:2]) for m in pick(members, requests)
            ],
            "search: resident ID": [search(m[1]) for m in pick(members, requests)],
            "search: part of an address": [
                search(address_piece(m[2])) for m in pick(members, requests)
            ],
            "search: household number": [search(str(pk)) for pk in pick(ids, requests)],
            "search: a surname, a later page": [lambda: client.get(next_page)] * requests,
            "household page": [
                (lambda pk=pk: client.get(f"/households/{pk}/")) for pk in pick(ids, requests)
            ],
            "household page's history (htmx)": [
                (lambda pk=pk: client.get(f"/households/{pk}/history/", headers=HTMX))
                for pk in pick(ids, requests)
            ],
        }
        header = (
            f"{'':38} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'db p50':>8} {'db p95':>8} "
            f"{'cpu p50':>8} {'queries':>8}"
        )
        self.stdout.write(header)
        for name, calls in runs.items():
            calls[0]()  # warm the caches and the connection once
            times, cpu, database, queries = [], [], [], []
            for call in calls:
                connection.queries_log.clear()
                connection.force_debug_cursor = True
                clock = QueryClock()
                started, cpu_started = time.perf_counter(), time.process_time()
                with connection.execute_wrapper(clock):
                    response = call()
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                connection.force_debug_cursor = False
                queries.append(len(connection.queries))
                database.append(clock.seconds * 1000)
                connection.queries_log.clear()
                if response.status_code not in (200, 302):
                    raise CommandError(f"{name}: answered {response.status_code}")
            self.stdout.write(
                f"{name:38} {statistics.median(times):8.1f} {percentile(times, 95):8.1f} "
                f"{max(times):8.1f} {statistics.median(database):8.1f} "
                f"{percentile(database, 95):8.1f} {statistics.median(cpu):8.1f} "
                f"{statistics.median(queries):8.0f}"
            )
        self.stdout.write(f"load average after: {load_average()}")

    def busiest_township(self, city: str) -> Region:
        counts = (
            Household.objects.filter(region_code__startswith=city)
            .values("village__parent")
            .annotate(n=Count("id"))
            .order_by("-n")
            .first()
        )
        if counts is None:
            raise CommandError(f"no households in city {city}: run generate_caseload first")
        return Region.objects.get(pk=counts["village__parent"])

    def caseworker(self, township: Region) -> User:
        user, _created = User.objects.update_or_create(
            username=BENCH_USER,
            defaults={"role": Role.CASEWORKER, "region": township, "is_active": True},
        )
        return user


class QueryClock:
    """Adds up the time of each SQL statement run (sent, run and its rows received)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (as ``uptime`` shows them)."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

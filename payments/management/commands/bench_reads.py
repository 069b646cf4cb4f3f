"""Server time of the API reads that grow with a city's months of payments.

    python manage.py bench_reads --city 3211 --requests 100

Run it on a database holding a generated caseload and months of batches (``bench_payroll
--history-months N``). It signs in the role each read is for and sends each kind of request
``--requests`` times (bounded: 1 to 2,000) to targets picked at random, through Django's test
client (the whole stack: middleware, permissions, view, queries, serializer), and prints per
kind p50, p95 and the slowest server time in milliseconds, with the database time (the sum of
the request's SQL statements' times), this process's CPU time and the queries per request.
The machine's load average is printed before and after: on a shared machine wall times follow
it, the database time and the query count much less.

* finance, on a batch of the last ``--batches`` months (default 3): its review (totals by
  category and district, counts of new, stopped and changed lines), its first read (which
  counts the lines, timed apart, on the batches not reviewed yet) and the first page of each
  of its diff lists;
* auditor (the city): the first page of the adjustment list, the list filtered by month, by
  household, and a later page;
* caseworker (the township with the most households): a household's timeline and its
  payment lines.
"""

import random

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.test import Client

from beneficiaries.models import Household, Region, User
from casework.models import Adjustment, Enrolment
from core.benchmarks import Timings, load_average, time_calls
from core.roles import Role
from payments.management.commands.run_payroll import find_region
from payments.models import PaymentBatch
from payments.review import is_kept

MAX_REQUESTS = 2000


class Command(BaseCommand):
    help = "Measure the review, diff, adjustment and household payment reads (p50/p95)."

    def add_arguments(self, parser):
        parser.add_argument("--city", default="3211", help="4-digit city code")
        parser.add_argument("--requests", type=int, default=100, help="requests of each kind")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--batches", type=int, default=3, help="review and diff the last N months' batches"
        )
        parser.add_argument("--only", default="", help="run only the kinds containing this text")

    def handle(self, *args, city, requests, seed, only, batches: int, **options):
        last_batches = batches
        if not 1 <= requests <= MAX_REQUESTS:
            raise CommandError(f"--requests must be 1 to {MAX_REQUESTS}")
        rng = random.Random(seed)
        region = find_region(city)
        township = self.busiest_township(city)
        finance = self.client(Role.FINANCE, region)
        auditor = self.client(Role.AUDITOR, region)
        caseworker = self.client(Role.CASEWORKER, township)

        all_batches = PaymentBatch.objects.filter(region=region, line_count__gt=0)
        batches = list(all_batches.order_by("-month").values_list("pk", flat=True)[:last_batches])
        if not batches:
            raise CommandError(f"no computed batch of {city}: run bench_payroll first")
        months = sorted(f"{m:%Y-%m}" for m in all_batches.values_list("month", flat=True))
        in_town = Household.objects.filter(region_code__startswith=township.prefix)
        # Households with an enrolment: the ones with months of payments.
        households = list(
            Enrolment.objects.filter(household__region_code__startswith=township.prefix)
            .order_by("?")
            .values_list("household_id", flat=True)[:requests]
        )
        adjusted = list(
            Adjustment.objects.filter(region_code__startswith=region.prefix)
            .order_by("?")
            .values_list("enrolment__household_id", flat=True)[:requests]
        )
        adjustments = Adjustment.objects.filter(region_code__startswith=region.prefix).count()
        self.stdout.write(
            f"city {city}: {len(months)} batches ({months[0]} … {months[-1]}), review and diff "
            f"of the last {len(batches)}, "
            f"{adjustments:,} adjustments; township {township.name}: {in_town.count():,} "
            f"households; {requests} requests of each kind"
        )
        if not households or not adjusted:
            raise CommandError("no households or adjustments to read: run bench_payroll first")

        def pick(values):
            return [rng.choice(values) for _ in range(requests)]

        def get(client, url):
            return lambda: client.get(url)

        later_page = max(1, min(adjustments // 50, 200))
        # A batch's first review counts its lines (and keeps the counts, payments.review):
        # timed apart, on the batches whose review is not kept for their present lines (a review
        # kept before last month's lines changed is counted again).
        uncounted = [pk for pk in batches if not is_kept(batch=PaymentBatch.objects.get(pk=pk))]
        first_reads = [get(finance, f"/api/batches/{pk}/review/") for pk in uncounted]
        runs = {
            "batch review: first read (finance)": first_reads[:requests],
            "batch review (finance)": [
                get(finance, f"/api/batches/{pk}/review/") for pk in pick(batches)
            ],
            **{
                f"batch diff: {change} (finance)": [
                    get(finance, f"/api/batches/{pk}/diff/?change={change}") for pk in pick(batches)
                ]
                for change in ("new", "stopped", "changed")
            },
            "adjustments: first page (auditor)": [get(auditor, "/api/adjustments/")] * requests,
            "adjustments: a month (auditor)": [
                get(auditor, f"/api/adjustments/?month={month}") for month in pick(months)
            ],
            "adjustments: a household (auditor)": [
                get(auditor, f"/api/adjustments/?household={pk}") for pk in pick(adjusted)
            ],
            f"adjustments: page {later_page} (auditor)": [
                get(auditor, f"/api/adjustments/?page={later_page}")
            ]
            * requests,
            "household timeline (caseworker)": [
                get(caseworker, f"/api/timeline/households/{pk}/") for pk in pick(households)
            ],
            "household payment lines (caseworker)": [
                get(caseworker, f"/api/payment-lines/?household={pk}") for pk in pick(households)
            ],
        }
        self.stdout.write(f"load average before: {load_average()}")
        self.stdout.write(f"{'':40} {Timings.HEADER}")
        for name, calls in runs.items():
            if (only and only not in name) or not calls:
                continue
            try:
                timings = time_calls(calls, warm="first read" not in name)
            except RuntimeError as error:
                raise CommandError(f"{name}: {error}") from None
            self.stdout.write(f"{name:40} {timings.row()}")
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

    def client(self, role: str, region: Region) -> Client:
        user, _created = User.objects.update_or_create(
            username=f"bench-reads-{role}",
            defaults={"role": role, "region": region, "is_active": True},
        )
        client = Client()
        client.force_login(user)
        return client

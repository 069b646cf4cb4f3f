"""Time the authentication of API requests: HTTP basic auth against API tokens.

    python manage.py bench_auth --requests 200

Sends ``--requests`` GETs of ``--path`` through the Django test client with each way of
authenticating and prints, per way, the median and 95th percentile of the time spent in the
authentication class alone (wall clock, and the median CPU time of the web process, which a
loaded machine does not inflate) and of the whole request, in milliseconds. The users and tokens it
makes are rolled back at the end. Basic auth runs the configured password hasher (Django's
PBKDF2 by default), so that is what it measures; it is turned on for the measurement whatever
``API_BASIC_AUTH`` says.
"""

import base64
import statistics
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client, override_settings

from beneficiaries.models import Region, User
from beneficiaries.service_accounts import create_service_account, issue_token
from core.authentication import BasicAuthentication, TokenAuthentication

PASSWORD = "bench-auth-only-not-a-secret"  # the user is rolled back at the end


def _ms(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


@contextmanager
def _timed(cls, samples: list[float], cpu: list[float]):
    """Record how long each ``cls.authenticate`` call takes: wall clock and this process's CPU."""
    original = cls.authenticate

    def authenticate(self, request):
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, request)
        finally:
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)

    cls.authenticate = authenticate
    try:
        yield
    finally:
        cls.authenticate = original


class Command(BaseCommand):
    help = "Per-request authentication time: basic auth against API tokens (median, p95)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--warmup", type=int, default=5)
        parser.add_argument("--path", default="/api/batches/?page_size=1")

    def handle(self, *args, requests: int, warmup: int, path: str, **options):
        host = "testserver" if "testserver" in settings.ALLOWED_HOSTS else settings.ALLOWED_HOSTS[0]
        self.stdout.write(
            f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"hasher {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}, "
            f"{requests} requests of {path} each (after {warmup} warm-up)"
        )
        with transaction.atomic():
            city = Region.objects.filter(level=Region.Level.CITY).order_by("code").first()
            person = User.objects.create_user(
                username="bench-auth-person", password=PASSWORD, role="finance", region=city
            )
            if city is None:
                person.is_superuser = True
                person.save()
            _token, person_secret = issue_token(user=person, name="bench", by=None)
            ways = [
                ("basic auth", BasicAuthentication, _basic_header(person.username)),
                ("token (person)", TokenAuthentication, _token_header(person_secret)),
            ]
            if city is not None:
                account = create_service_account(
                    username="bench-auth-partner",
                    region=city,
                    scopes=["batch_totals.read"],
                    description="bench_auth",
                    by=None,
                )
                _token, partner_secret = issue_token(user=account.user, name="bench", by=None)
                ways.append(
                    ("token (service account)", TokenAuthentication, _token_header(partner_secret))
                )
            self._round_trip(n=requests)
            with override_settings(API_BASIC_AUTH=True):
                for label, cls, headers in ways:
                    self._measure(label, cls, headers, path=path, host=host, n=requests, w=warmup)
            transaction.set_rollback(True)

    def _round_trip(self, *, n: int) -> None:
        """The floor under any query, to read the figures against the machine's load."""
        samples = []
        with connection.cursor() as cursor:
            for _index in range(n):
                started = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                samples.append(time.perf_counter() - started)
        self.stdout.write(
            f"{'database round trip':<24} SELECT 1 median {_ms(samples, 0.5):8.3f} ms  "
            f"p95 {_ms(samples, 0.95):8.3f} ms"
        )

    def _measure(self, label, cls, headers, *, path: str, host: str, n: int, w: int) -> None:
        client = Client(HTTP_HOST=host)
        auth: list[float] = []
        cpu: list[float] = []
        whole: list[float] = []
        with _timed(cls, auth, cpu):
            for index in range(w + n):
                started = time.perf_counter()
                response = client.get(path, **headers)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    self.stderr.write(f"{label}: {response.status_code} {response.content[:200]!r}")
                    return
                if index >= w:
                    whole.append(elapsed)
        auth, cpu = auth[w:], cpu[w:]
        self.stdout.write(
            f"{label:<24} authentication median {_ms(auth, 0.5):8.3f} ms  "
            f"p95 {_ms(auth, 0.95):8.3f} ms  (CPU median {_ms(cpu, 0.5):8.3f} ms)   "
            f"whole request median {statistics.median(whole) * 1000:8.3f} ms  "
            f"p95 {_ms(whole, 0.95):8.3f} ms"
        )


def _basic_header(username: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {credentials}"}


def _token_header(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {secret}"}

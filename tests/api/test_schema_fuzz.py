"""schemathesis against /api/schema/, in process, for every role.

Every operation of the schema is called with generated data (a bounded number of examples each,
see EXAMPLES) as each role's demo user, on the throwaway test database; every response must be
no server error and match the schema (status code, content type, body, headers). The fuzzer's
writes are committed, so the test then makes a batch and checks it computes and exports: nothing
a user can send may break a later month.
"""

import datetime
import time

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from beneficiaries.models import Region, User
from beneficiaries.service_accounts import issue_token
from config.wsgi import application
from core.exceptions import Conflict
from payments import approval, bankfiles, batches
from payments.models import PaymentBatch

ROLES = ["zj-caseworker", "zj-grid", "zj-approver", "zj-finance", "zj-auditor", "js-admin"]
EXAMPLES = 6  # per operation and role: 79 operations × 6 roles × 6 ≈ 2,800 requests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def token_auth(username: str) -> dict[str, str]:
    _token, secret = issue_token(user=User.objects.get(username=username), name="fuzz", by=None)
    return {"Authorization": f"Token {secret}"}


def fuzz(operation, headers: dict) -> list[str]:
    """Call ``operation`` with generated cases; the failures found, as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as error:  # a failed check: keep it and go on
            failures.append(f"{operation.label}: {str(error)[:600]}")

    run()
    return failures


@pytest.fixture
def demo(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("load_seeds", demo_users=True, verbosity=0)
    call_command("load_demo", city="3211", households=20, verbosity=0)


@pytest.mark.postgres
def test_every_role_gets_only_documented_responses_and_the_month_still_pays(demo):
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", application, headers=token_auth("zj-auditor")
    )
    started = time.monotonic()
    failures: list[str] = []
    for username in ROLES:
        headers = token_auth(username)
        for result in schema.get_all_operations():
            failures += fuzz(result.ok(), headers)
    print(f"schemathesis: {len(ROLES)} roles in {time.monotonic() - started:.0f} s")

    assert failures == [], "\n\n".join(failures[:30])
    batch = _computed_batch()
    assert (batch.status, batch.error) == ("computed", "")
    # Two people for the batch: one finance user submits it, the other approves it.
    approval.submit_batch(batch=batch, by=User.objects.get(username="zj-finance"))
    approved = approval.approve_batch(batch=batch, by=User.objects.get(username="zj-finance2"))
    files = bankfiles.export_batch(batch=approved, by=User.objects.get(username="zj-finance"))
    assert PaymentBatch.objects.get(pk=batch.pk).status == "exported"
    assert len(files) == 2


def _computed_batch() -> PaymentBatch:
    """A batch of Zhenjiang for the first month after the fuzzing's that has none."""
    city = Region.objects.get(code="321100000000")
    month = datetime.date.today().replace(day=1)
    while True:
        try:
            batch = batches.create_batch(region=city, month=month, by=None)
            break
        except Conflict:
            month = (month + datetime.timedelta(days=32)).replace(day=1)
    return batches.compute_batch(batch=batch, inline=True)

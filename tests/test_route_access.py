"""Every route × every role (and anonymous, and a user without a region) × a record inside and
outside the region answers as ``core.policy`` says: generated from the URL configuration, so a
route added without a rule fails here.

* API: a role the policy refuses gets 403, anonymous 401/403, a user without a region 403; an
  allowed role gets 404 for a record outside its subtree and no refusal inside it.
* Pages: anonymous is sent to sign in; a refused role or a user without a region gets 403.
* Admin: only the administrator (role admin, with a region) passes; each model page answers as
  the policy of its ``resource`` says, never more, and a record outside the subtree does not
  exist there.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from beneficiaries.models import Asset, Household, IncomeItem, Member, Region, User
from casework.models import Application, Enrolment, Referral
from core import policy
from payments.explanations import create_lines, make
from payments.models import PaymentBatch, PaymentLine, Recovery
from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory

Role = User.Role
SIGNED_OUT, NO_REGION = "anonymous", "no-region"
# Routes open to anyone by design: they name routes or sign people in and hold no records.
PUBLIC = {
    "api-root",
    "schema",
    "api-docs",
    "api-redoc",
    "rest_framework:login",
    "rest_framework:logout",
    "set_language",
    "web:login",
    "web:logout",
    "admin:login",
    "admin:logout",
    None,  # the admin's catch-all (no name): a redirect or a 404, never a record
}
MISSING = 999_999_999
WRITE_METHODS = ("post", "put", "patch", "delete")
# Lookups other than the record's id, and the query a route needs.
KWARGS = {"change": "stop", "year": 2024, "content_type_id": MISSING, "app_label": "casework"}
QUERY = {"enrolment-explain": {"month": "2024-08"}}
# Routes that answer 404 inside the region too when there is nothing yet (no bank file exported).
NOTHING_YET = {"batch-bank-file"}
# The record a route's id names, by the resource of the route.
RESOURCE_MODELS = {
    "region": Region,
    "household": Household,
    "member": Member,
    "income": IncomeItem,
    "asset": Asset,
    "referral": Referral,
    "application": Application,
    "enrolment": Enrolment,
    "enrolment-explanation": Enrolment,
    "timeline": Household,
    "batch": PaymentBatch,
    "bank-file": PaymentBatch,
    "payment-line": PaymentLine,
    "recovery": Recovery,
    "user": User,
}


def walk(patterns, prefix: str = "", namespace: str = "") -> list[tuple[str, URLPattern]]:
    """(full name, pattern) of every route."""
    routes = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            routes += walk(entry.url_patterns, prefix, inner)
        else:
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            routes.append((name, entry))
    return routes


def records(regions, users) -> dict:
    """A record of each kind inside Zhenjiang (the users' region) and outside it (Changzhou)."""
    made = {}
    for side, village, city in (
        ("in", regions["village_a1"], regions["zhenjiang"]),
        ("out", regions["village_c1"], regions["changzhou"]),
    ):
        household = HouseholdFactory(village=village)
        member = MemberFactory(household=household)
        enrolment = EnrolmentFactory(household=household, member=member)
        batch = PaymentBatch.objects.create(
            region=city, month=datetime.date(2024, 8, 1), status=PaymentBatch.Status.COMPUTED
        )
        (line,) = create_lines(
            [
                PaymentLine(
                    batch=batch,
                    kind=PaymentLine.Kind.REGULAR,
                    enrolment=enrolment,
                    household=household,
                    region_code=household.region_code,
                    category=enrolment.category,
                    month=batch.month,
                    amount=Decimal("812.00"),
                    bank_name=household.bank_name,
                    bank_account_holder=household.bank_account_holder,
                    bank_account_number=household.bank_account_number,
                    explanation_ref=make([]),
                )
            ]
        )
        flagger = users[Role.GRID_WORKER] if side == "in" else users["changzhou-grid"]
        made[side] = {
            Region: village,
            Household: household,
            Member: member,
            IncomeItem: IncomeItemFactory(member=member),
            Enrolment: enrolment,
            Referral: Referral.objects.create(
                name="王桂英", village=village, reason=Referral.Reason.values[0], flagged_by=flagger
            ),
            Application: Application.objects.create(
                household=household,
                member=member,
                category=enrolment.category,
                submitted_by=users[Role.CASEWORKER],
                submitted_on=timezone.localdate(),
            ),
            PaymentBatch: batch,
            PaymentLine: line,
            Recovery: Recovery.objects.create(
                household=household,
                region_code=household.region_code,
                amount=Decimal("300.00"),
                reason=Recovery.Reason.values[0],
                note="隐瞒收入",
            ),
            User: users[Role.CASEWORKER] if side == "in" else users["changzhou-grid"],
        }
    return made


@pytest.fixture
def people(regions, make_user) -> dict:
    users = {role: make_user(role, regions["zhenjiang"], is_staff=True) for role in Role}
    users["changzhou-grid"] = make_user(Role.GRID_WORKER, regions["changzhou"])
    users[NO_REGION] = make_user(Role.CASEWORKER, None, is_staff=True, is_superuser=True)
    return users


def url_for(name: str, pattern: URLPattern, record) -> str:
    kwargs = {}
    for key in pattern.pattern.regex.groupindex:
        if key in ("pk", "household_id", "object_id", "id"):
            kwargs[key] = record.pk if record is not None else MISSING
        elif key in KWARGS:
            kwargs[key] = KWARGS[key]
        else:
            raise AssertionError(f"{name}: no value for the URL argument {key!r}")
    return reverse(name, kwargs=kwargs)


def request(client: Client, method: str, url: str, query: dict):
    with transaction.atomic():
        try:
            if method == "get":
                response = client.get(url, query)
            else:
                response = getattr(client, method)(url, {}, content_type="application/json")
        finally:
            transaction.set_rollback(True)
    return response.status_code


def api_methods(callback) -> dict[str, str | None]:
    """method → the action the policy looks up."""
    if getattr(callback, "actions", None):
        return {m: a for m, a in callback.actions.items() if m in ("get", *WRITE_METHODS)}
    cls = callback.cls
    allowed = getattr(cls, "http_method_names", ())
    return {
        m: getattr(cls, "policy_action", None)
        for m in ("get", *WRITE_METHODS)
        if hasattr(cls, m) and m in allowed
    }


def check_api(name, pattern, callback, clients, data, users, failures):
    resource = getattr(callback.cls, "resource", None)
    if resource not in policy.POLICY:
        failures.append(f"{name}: no rule (resource {resource!r} is not in core.policy)")
        return
    model = RESOURCE_MODELS.get(resource)
    has_id = bool({"pk", "household_id"} & set(pattern.pattern.regex.groupindex))
    sides = ("in", "out") if has_id else ("in",)
    for method, action in api_methods(callback).items():
        safe = method == "get"
        roles = policy.roles_for(resource, action=action, safe=safe)
        for side in sides:
            record = data[side].get(model) if has_id else None
            url = url_for(name, pattern, record)
            for who, client in clients.items():
                code = request(client, method, url, QUERY.get(name, {}))
                where = f"{method.upper()} {url} as {who} ({side})"
                if code >= 500:
                    failures.append(f"{where}: {code}")
                elif who == SIGNED_OUT:
                    if code not in (401, 403):
                        failures.append(f"{where}: {code}, expected 401/403")
                elif who == NO_REGION or who not in roles:
                    if code != 403:
                        failures.append(f"{where}: {code}, expected 403")
                elif side == "out":
                    # A write may be refused for its input (400, 415) before any record is read.
                    if code not in ((404,) if safe else (400, 404, 415)):
                        failures.append(f"{where}: {code}, expected 404 outside the region")
                elif code in (401, 403) or (
                    code == 404 and record is not None and name not in NOTHING_YET
                ):
                    failures.append(f"{where}: {code}, expected the role to be let in")


def check_page(name, pattern, callback, clients, failures):
    roles = getattr(callback, "page_roles", None)
    if roles is None:
        failures.append(f"{name}: no rule (a page view must be wrapped by core.pages.page)")
        return
    url = url_for(name, pattern, None)
    for who, client in clients.items():
        code = request(client, "get", url, {})
        where = f"GET {url} as {who}"
        if code >= 500:
            failures.append(f"{where}: {code}")
        elif who == SIGNED_OUT:
            if code != 302:
                failures.append(f"{where}: {code}, expected the sign-in redirect")
        elif who == NO_REGION or who not in roles:
            if code != 403:
                failures.append(f"{where}: {code}, expected 403")
        elif code in (401, 403):
            failures.append(f"{where}: {code}, expected the page")


def check_admin(name, pattern, callback, clients, data, failures):
    model_admin = getattr(callback, "model_admin", None)
    resource = getattr(model_admin, "resource", None) if model_admin else "admin-site"
    if resource not in policy.POLICY:
        failures.append(f"{name}: no rule (the ModelAdmin has no resource in core.policy)")
        return
    view = name.rsplit("_", 1)[-1] if model_admin else name
    has_id = bool({"object_id", "id"} & set(pattern.pattern.regex.groupindex))
    for side in ("in", "out") if has_id and model_admin else ("in",):
        record = data[side].get(model_admin.model) if has_id and model_admin else None
        url = url_for(name, pattern, record)
        # Every role but the administrator meets the same refusal (web.access): one stands for all.
        for who in (SIGNED_OUT, NO_REGION, Role.AUDITOR, Role.ADMIN):
            code = request(clients[who], "get", url, {})
            where = f"GET {url} as {who} ({side})"
            if code >= 500:
                failures.append(f"{where}: {code}")
            elif who == SIGNED_OUT:
                if code != 302:
                    failures.append(f"{where}: {code}, expected the admin's sign-in")
            elif who != Role.ADMIN:
                if code != 403:
                    failures.append(f"{where}: {code}, expected 403")
            elif not model_admin:
                # The autocomplete refuses a request that names no field (403) for anyone.
                if code in (401, 403) and name != "admin:autocomplete":
                    failures.append(f"{where}: {code}, expected the administrator to pass")
            else:
                reads = policy.allows(users_admin(clients), resource)
                writes = policy.allows(users_admin(clients), resource, safe=False)
                expected = {
                    "changelist": {200} if reads else {403},
                    "add": {200, 403} if writes else {403},
                    "delete": {403},
                    "change": {200} if reads else {403},
                    "history": {200} if reads else {403},
                }.get(view)
                if expected is None:
                    continue
                if side == "out" and view in ("change", "history") and reads:
                    expected = {302, 404}  # the admin's "does not exist" (a redirect) or 404
                if side == "in" and record is None and view in ("change", "history"):
                    expected = expected | {302}
                if code not in expected:
                    failures.append(f"{where}: {code}, expected {sorted(expected)}")


def users_admin(clients):
    return clients[Role.ADMIN].admin_user


def test_every_route_answers_each_role_as_the_policy_says(regions, people):
    clients = {SIGNED_OUT: Client()}
    for who in [*Role, NO_REGION]:
        client = Client()
        client.force_login(people[who])
        client.admin_user = people[who]
        clients[who] = client
    data = records(regions, people)
    failures: list[str] = []
    for name, pattern in walk(get_resolver().url_patterns):
        if name in PUBLIC:
            continue
        callback = pattern.callback
        if name.startswith("admin:"):
            check_admin(name, pattern, callback, clients, data, failures)
        elif hasattr(callback, "cls"):
            check_api(name, pattern, callback, clients, data, people, failures)
        else:
            check_page(name, pattern, callback, clients, failures)
    assert not failures, "\n".join(failures)


def test_every_model_in_the_admin_names_its_rule():
    missing = [
        f"{model.__name__}Admin"
        for model, model_admin in admin.site._registry.items()
        if getattr(model_admin, "resource", None) not in policy.POLICY
    ]
    assert not missing

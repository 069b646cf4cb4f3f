"""Service accounts and API tokens: who makes them, what they may call, how tokens are checked."""

import base64
import datetime
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.request import Request
from rest_framework.test import APIClient

from beneficiaries import service_accounts
from beneficiaries.models import ApiToken, Asset, IncomeItem, ServiceAccount, User
from core.authentication import TokenAuthentication
from core.exceptions import Conflict, DomainError
from core.service_scopes import RULES, ServiceScope
from web.access import may_open, may_use_admin

CHECK = [ServiceScope.ECONOMIC_CHECK_UPLOAD]


@pytest.fixture(autouse=True)
def no_failed_attempts_left_over():
    cache.clear()
    yield
    cache.clear()


def _client(secret: str, address: str = "10.1.2.3") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


@pytest.fixture
def administrator(make_user, regions):
    return make_user("admin", regions["zhenjiang"], username="zj-admin")


def test_a_service_account_gets_the_role_its_scopes_need_and_no_password(administrator, regions):
    account = service_accounts.create_service_account(
        username="check-centre-321102",
        region=regions["jingkou"],
        scopes=CHECK,
        description="京口区经济状况核对中心",
        by=administrator,
    )

    user = User.objects.get(username="check-centre-321102")
    assert (user.role, user.region, user.is_service_account) == (
        "caseworker",
        regions["jingkou"],
        True,
    )
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    assert account.created_by == administrator
    assert account.scope_labels() == ["上传经济状况核对结果(收入、财产)"]
    platform = service_accounts.create_service_account(
        username="platform",
        region=regions["zhenjiang"],
        scopes=["batch_totals.read", "bank_return.upload"],
        description="省平台",
        by=None,
    )
    assert platform.user.role == "finance"  # the one role both scopes allow


@pytest.mark.parametrize(
    ("scopes", "field"),
    [
        (["economic_check.upload", "bank_return.upload"], "scopes"),  # caseworker and finance
        ([], "scopes"),
        (["payments.everything"], "scopes"),
    ],
)
def test_scopes_that_are_unknown_missing_or_need_two_roles_make_no_account(
    administrator, regions, scopes, field
):
    with pytest.raises(DomainError) as refused:
        service_accounts.create_service_account(
            username="partner", region=regions["zhenjiang"], scopes=scopes, description="x",
            by=administrator,
        )  # fmt: skip

    assert refused.value.field == field
    assert not User.objects.filter(username="partner").exists()
    assert not ServiceAccount.objects.exists()


def test_only_an_administrator_over_the_region_makes_a_service_account(make_user, regions):
    changzhou_admin = make_user("admin", regions["changzhou"])
    zhenjiang_finance = make_user("finance", regions["zhenjiang"])

    for by in (changzhou_admin, zhenjiang_finance):
        with pytest.raises(DomainError):
            service_accounts.create_service_account(
                username="bank", region=regions["zhenjiang"], scopes=["bank_return.upload"],
                description="银行", by=by,
            )  # fmt: skip

    assert not User.objects.filter(username="bank").exists()


def test_a_username_already_taken_makes_no_account(administrator, regions):
    with pytest.raises(Conflict):
        service_accounts.create_service_account(
            username="zj-admin", region=regions["zhenjiang"], scopes=CHECK, description="x",
            by=administrator,
        )  # fmt: skip
    assert not ServiceAccount.objects.exists()


def test_a_service_account_cannot_sign_in_anywhere_even_with_a_password(make_partner, regions):
    partner = make_partner("bank", regions["zhenjiang"], ["bank_return.upload"])
    partner.set_password("a-password-someone-set")
    partner.save()

    page = Client().post("/", {"username": "bank", "password": "a-password-someone-set"})
    admin = Client().post(
        "/admin/login/", {"username": "bank", "password": "a-password-someone-set"}
    )

    assert (
        authenticate(RequestFactory().post("/"), username="bank", password="a-password-someone-set")
        is None
    )
    assert "_auth_user_id" not in page.wsgi_request.session
    assert "_auth_user_id" not in admin.wsgi_request.session


def test_a_session_that_names_a_service_account_opens_no_page_and_no_admin(make_partner, regions):
    partner = make_partner("platform", regions["zhenjiang"], ["batch_totals.read"])
    client = Client()
    client.force_login(partner)

    home = client.get("/home/")
    admin = client.get("/admin/beneficiaries/household/")

    assert home.status_code == 302 and home["Location"] == "/?next=/home/"
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")
    assert not may_open(partner, "web:home")
    assert not may_use_admin(partner)


def test_the_database_refuses_a_service_account_with_staff_rights(make_partner, regions):
    from django.db import IntegrityError, transaction

    partner = make_partner("platform", regions["zhenjiang"], ["batch_totals.read"])
    partner.is_staff = True
    with pytest.raises(IntegrityError), transaction.atomic():
        partner.save()


def test_the_checking_centre_finds_a_household_and_records_what_it_found(
    make_partner, regions, household
):
    centre = make_partner("check-centre", regions["jingkou"], CHECK)
    _token, secret = service_accounts.issue_token(user=centre, name="核对结果", by=None)
    client = _client(secret)
    id_number = household.head.id_number

    found = client.get(f"/api/households/?id_number={id_number}")
    income = client.post(
        "/api/incomes/",
        {
            "member": household.head.pk,
            "type": "wages",
            "monthly_amount": "2350.75",
            "valid_from": "2024-01-01",
            "note": "经济状况核对：社保缴费基数",
        },
        format="json",
    )
    asset = client.post(
        "/api/assets/",
        {
            "household": household.pk,
            "kind": "vehicle",
            "value": "38000.00",
            "description": "苏L·5A3X7",
        },
        format="json",
    )

    assert [h["id"] for h in found.json()["results"]] == [household.pk]
    assert income.status_code == 201, income.json()
    assert asset.status_code == 201, asset.json()
    assert str(IncomeItem.objects.get().monthly_amount) == "2350.75"
    assert Asset.objects.filter(household=household).count() == 1


def test_the_checking_centre_sees_nothing_outside_its_subtree_and_changes_nothing_else(
    make_partner, regions, household
):
    other_town = make_partner("check-centre-b", regions["town_b"], CHECK)
    _token, secret = service_accounts.issue_token(user=other_town, name="核对结果", by=None)
    client = _client(secret)

    detail = client.get(f"/api/households/{household.pk}/")
    income = client.post(
        "/api/incomes/",
        {
            "member": household.head.pk,
            "type": "wages",
            "monthly_amount": "1",
            "valid_from": "2024-01-01",
        },
        format="json",
    )
    edit = client.patch(f"/api/households/{household.pk}/", {"address": "x"}, format="json")

    assert detail.status_code == 404
    assert income.status_code == 400
    assert edit.status_code == 403
    assert not IncomeItem.objects.exists()


def _every_api_route():
    values = {"{pk}": "999999", "{year}": "2024", "{household_id}": "999999", "{change}": "stop"}
    skip = {"/api/", "/api/docs/", "/api/redoc/", "/api/schema/"}  # open to all, hold no data
    for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints():
        if path in skip:
            continue
        for placeholder, value in values.items():
            path = path.replace(placeholder, value)
        yield path, method


@pytest.mark.parametrize("scope", list(ServiceScope))
def test_every_api_route_refuses_a_service_account_unless_its_scope_names_it(
    make_partner, regions, scope
):
    """The route × scope test: 403 on every route but the scope's own, which let the call in."""
    partner = make_partner(f"partner-{scope.value}", regions["zhenjiang"], [scope])
    _token, secret = service_accounts.issue_token(user=partner, name="路由测试", by=None)
    client = _client(secret)
    wrong: list[str] = []
    routes = list(_every_api_route())

    for path, method in routes:
        named = (resolve(path).url_name, method) in RULES[scope].routes
        status = getattr(client, method.lower())(path, {}, format="json").status_code
        if (status == 403) == named:
            wrong.append(f"{method} {path}: {status}")

    assert len(routes) > 70
    assert wrong == []


def test_a_token_is_kept_only_as_its_digest(make_partner, regions):
    partner = make_partner("bank", regions["zhenjiang"], ["bank_return.upload"])

    token, secret = service_accounts.issue_token(user=partner, name="回盘", days=30, by=None)

    assert secret.startswith("doudi_") and len(secret) == 70
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in [str(value) for value in stored.values()]
    assert token.token_key == secret[:15]
    assert round((token.expiry - token.created).total_seconds()) == 30 * 24 * 3600


@pytest.mark.parametrize("days", [0, 367, 10_000])
def test_a_token_without_a_sensible_expiry_is_not_issued(make_partner, regions, days):
    partner = make_partner("bank", regions["zhenjiang"], ["bank_return.upload"])

    with pytest.raises(DomainError):
        service_accounts.issue_token(user=partner, name="回盘", days=days, by=None)

    assert not ApiToken.objects.exists()


def test_a_person_issues_tokens_for_their_own_scripts_but_not_for_others(make_user, regions):
    finance = make_user("finance", regions["zhenjiang"])
    colleague = make_user("finance", regions["zhenjiang"])

    _token, secret = service_accounts.issue_token(user=finance, name="月报脚本", by=finance)
    with pytest.raises(DomainError):
        service_accounts.issue_token(user=colleague, name="x", by=finance)

    assert _client(secret).get("/api/batches/").status_code == 200
    assert ApiToken.objects.filter(user=colleague).count() == 0


def test_the_last_use_is_written_at_most_once_a_minute(make_user, regions, clock):
    finance = make_user("finance", regions["zhenjiang"])
    token, secret = service_accounts.issue_token(user=finance, name="脚本", by=None)
    start = token.created + datetime.timedelta(hours=1)

    clock(start)
    _client(secret).get("/api/batches/")
    clock(start + datetime.timedelta(seconds=59))
    _client(secret).get("/api/batches/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    clock(start + datetime.timedelta(seconds=61))
    _client(secret).get("/api/batches/")

    assert first == start
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start + datetime.timedelta(seconds=61)


def test_a_token_call_reads_one_row_and_runs_no_password_hash(make_partner, regions, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    partner = make_partner("platform", regions["jingkou"], ["batch_totals.read"])
    token, secret = service_accounts.issue_token(user=partner, name="x", by=None)
    request = Request(RequestFactory().get("/api/batches/", HTTP_AUTHORIZATION=f"Token {secret}"))
    _client(secret).get("/api/batches/")  # the first call writes the last use

    with CaptureQueriesContext(connection) as queries:
        user, found = TokenAuthentication().authenticate(request)

    assert (user, found) == (partner, token)
    assert len(queries) == 1
    assert user.region_prefix == "321102" and user.service_account.scopes == ["batch_totals.read"]
    assert len(queries) == 1  # region and scopes came with the token


@pytest.mark.parametrize("path", ["/api/batches/?page_size=1", "/api/households/?page_size=1"])
def test_a_whole_token_call_costs_one_query_more_than_an_authenticated_one(
    make_user, regions, household, path
):
    finance = make_user("finance", regions["zhenjiang"])
    _token, secret = service_accounts.issue_token(user=finance, name="x", by=None)
    with_token = _client(secret)
    signed_in = APIClient()
    signed_in.force_authenticate(finance)
    with_token.get(path)  # the first call writes the last use

    counted = {}
    for name, client in (("token", with_token), ("authenticated", signed_in)):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counted[name] = [query["sql"] for query in queries]

    assert len(counted["token"]) == len(counted["authenticated"]) + 1
    assert "beneficiaries_apitoken" in counted["token"][0]
    assert not any("UPDATE" in sql or "auth_token_set" in sql for sql in counted["token"])


def test_repeated_bad_tokens_from_one_address_are_answered_429(make_user, regions, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token_failures": "3/hour"},
    }
    finance = make_user("finance", regions["zhenjiang"])
    _token, secret = service_accounts.issue_token(user=finance, name="脚本", by=None)
    guess = "doudi_" + "0" * 64

    refused = [
        _client(guess).get("/api/batches/", HTTP_X_FORWARDED_FOR=f"172.16.0.{attempt}").status_code
        for attempt in range(3)
    ]
    locked_out = _client(secret).get("/api/batches/")
    elsewhere = _client(secret, address="10.9.9.9").get("/api/batches/")

    assert all(status in (401, 403) for status in refused)
    assert locked_out.status_code == 429
    assert elsewhere.status_code == 200


def test_basic_auth_is_off_in_production_settings_unless_asked_for():
    def basic_auth(**env) -> str:
        environment = {**os.environ, "SECRET_KEY": "x"}
        environment.pop("API_BASIC_AUTH", None)
        environment.pop("DEBUG", None)
        environment.update(env)
        code = "from config import settings; print(settings.API_BASIC_AUTH)"
        result = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True,
            check=True, cwd=django_settings.BASE_DIR,
        )  # fmt: skip
        return result.stdout.strip()

    production = "postgres://doudi@db:5432/doudi"
    assert basic_auth(DATABASE_URL=production) == "False"
    assert basic_auth(DATABASE_URL=production, API_BASIC_AUTH="1") == "True"
    assert basic_auth(DATABASE_URL=production, DEBUG="1") == "True"
    assert basic_auth(DATABASE_URL="") == "True"


@pytest.mark.parametrize(("enabled", "status"), [(False, 403), (True, 200)])
def test_a_right_password_over_basic_auth_counts_only_where_basic_auth_is_on(
    make_user, regions, settings, enabled, status
):
    settings.API_BASIC_AUTH = enabled
    make_user("finance", regions["zhenjiang"], username="zj-fin")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"zj-fin:pw-for-tests").decode()
    )

    response = client.get("/api/batches/")

    assert response.status_code == status


def test_the_command_makes_an_account_prints_its_token_once_and_revokes_it(regions, capsys):
    call_command(
        "service_accounts", "create", "bank-zj", "--region", "3211",
        "--scope", "bank_return.upload", "--description", "工商银行镇江分行回盘",
    )  # fmt: skip
    call_command("service_accounts", "token", "bank-zj", "--name", "回盘上传", "--days", "30")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get(user__username="bank-zj")

    assert _client(secret).get("/api/batches/").status_code == 200
    call_command("service_accounts", "list")
    assert token.token_key in capsys.readouterr().out
    call_command("service_accounts", "revoke-token", secret[:15])
    assert _client(secret).get("/api/batches/").status_code in (401, 403)
    call_command("service_accounts", "revoke", "bank-zj")
    assert not User.objects.get(username="bank-zj").is_active


def test_the_admin_makes_an_account_and_shows_a_token_once(administrator, regions):
    administrator.is_staff = True
    administrator.save()
    client = Client()
    client.force_login(administrator)

    made = client.post(
        "/admin/beneficiaries/serviceaccount/add/",
        {
            "username": "platform-3211",
            "region": regions["zhenjiang"].pk,
            "scopes": ["batch_totals.read"],
            "description": "省级监测平台",
        },
    )
    partner = User.objects.get(username="platform-3211")
    issued = client.post(
        "/admin/beneficiaries/apitoken/add/",
        {"user": partner.pk, "name": "月度汇总", "days": 90},
        follow=True,
    )
    shown = [str(message) for message in issued.context["messages"]]
    secret = next(text for text in shown if "doudi_" in text).rsplit("：", 1)[1]
    listed = client.get("/admin/beneficiaries/apitoken/").content.decode()

    assert made.status_code == 302
    assert partner.service_account.scopes == ["batch_totals.read"]
    assert _client(secret).get("/api/batches/").status_code == 200
    assert secret not in listed and ApiToken.objects.get().token_key in listed
    assert "platform-3211" not in client.get("/admin/beneficiaries/user/").content.decode()


def test_the_auth_benchmark_prints_token_figures_and_leaves_nothing_behind(regions, capsys):
    call_command("bench_auth", "--requests", "3", "--warmup", "1")

    out = capsys.readouterr().out
    assert "token (person)" in out and "token (service account)" in out
    assert "authentication median" in out and "database round trip" in out
    assert not User.objects.filter(username__startswith="bench-auth").exists()
    assert not ApiToken.objects.exists()

"""我的接口令牌: a person issues tokens for their own scripts (shown once, an expiry within the
bound), sees them with their last use, and revokes one, which is refused at once."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from beneficiaries.models import ApiToken
from beneficiaries.service_accounts import issue_token
from web.navigation import nav_links


@pytest.fixture(autouse=True)
def no_failed_attempts_left_over():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def finance(make_user, regions):
    return make_user("finance", regions["zhenjiang"], username="liu-finance")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_a_token_is_issued_shown_once_and_calls_the_api_as_its_owner(finance):
    client = signed_in(finance)

    issued = client.post("/tokens/", {"name": "月报统计脚本", "days": "30"})
    secret = re.search(r"doudi_[0-9a-f]{64}", issued.content.decode()).group(0)
    again = client.get("/tokens/").content.decode()

    token = ApiToken.objects.get(user=finance)
    assert issued.status_code == 200
    assert (token.name, token.issued_by) == ("月报统计脚本", finance)
    assert abs(token.expiry - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(
        minutes=1
    )
    assert secret not in again and token.token_key in again and "月报统计脚本" in again
    assert "从未使用" in again
    assert api(secret).get("/api/batches/").status_code == 200
    assert "从未使用" not in client.get("/tokens/").content.decode()


@pytest.mark.parametrize("days", ["0", "367", "abc", ""])
def test_an_expiry_outside_the_bound_is_refused_beside_the_field(finance, days):
    response = signed_in(finance).post("/tokens/", {"name": "脚本", "days": days})

    assert response.status_code == 400
    assert response.context["form"].errors["days"]
    assert 'id="id_days_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_without_a_purpose_is_refused_beside_the_name(finance):
    response = signed_in(finance).post("/tokens/", {"name": " ", "days": "30"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_revoking_a_token_refuses_it_at_once(finance):
    token, secret = issue_token(user=finance, name="脚本", by=finance)
    assert api(secret).get("/api/batches/").status_code == 200

    response = signed_in(finance).post("/tokens/", {"revoke": token.pk})
    page = signed_in(finance).get("/tokens/").content.decode()

    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_by == finance
    assert api(secret).get("/api/batches/").status_code in (401, 403)
    assert "已吊销" in page


def test_no_one_sees_or_revokes_anothers_token(finance, make_user, regions):
    colleague = make_user("finance", regions["zhenjiang"], username="sun-finance")
    token, secret = issue_token(user=colleague, name="同事的脚本", by=colleague)
    client = signed_in(finance)

    listed = client.get("/tokens/").content.decode()
    revoked = client.post("/tokens/", {"revoke": token.pk})

    assert token.token_key not in listed and "同事的脚本" not in listed
    assert revoked.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert api(secret).get("/api/batches/").status_code == 200


def test_the_page_reads_in_english(finance):
    page = signed_in(finance).get("/tokens/?lang=en").content.decode()
    assert "My API tokens" in page and "Issue a new token" in page
    assert "A token lets your own scripts call the API" in page
    assert "我的接口令牌" not in page


def test_the_page_needs_a_signed_in_person(make_partner, regions):
    partner = make_partner("bank-zj", regions["zhenjiang"], ["bank_return.upload"])
    anonymous = Client().get("/tokens/")
    as_partner = signed_in(partner).get("/tokens/")

    assert anonymous.status_code == 302 and "next=/tokens/" in anonymous["Location"]
    assert as_partner.status_code == 302  # a partner's session is no one's: sign in
    assert not ApiToken.objects.exists()


def test_every_page_links_to_the_tokens_beside_the_name_not_in_the_menu(finance):
    home = signed_in(finance).get("/home/").content.decode()
    assert 'data-testid="my-tokens"' in home and 'href="/tokens/"' in home
    assert "我的接口令牌" not in [
        link.label for link in nav_links(user=finance, current="web:home")
    ]

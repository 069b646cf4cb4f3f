"""Sign-in: the lockout on every path that checks a password, unlocks recorded, password rules,
idle sessions."""

import base64
import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from beneficiaries import signin
from beneficiaries.models import SignInUnlock
from core.exceptions import DomainError

PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def basic_auth_on(settings):
    """The API's basic auth is off unless API_BASIC_AUTH (off with real services, as in CI)."""
    settings.API_BASIC_AUTH = True


@pytest.fixture
def caseworker(regions, make_user):
    return make_user("caseworker", regions["town_a"], username="cw-wang")


def sign_in(client, username, password, **extra):
    return client.post("/", {"username": username, "password": password}, **extra)


def basic(username, password) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def fail_five_times(client, username, **extra):
    for _ in range(4):
        assert sign_in(client, username, "wrong-password", **extra).status_code == 200
    # The fifth failure locks at once.
    assert sign_in(client, username, "wrong-password", **extra).status_code == 429


def test_the_sign_in_page_locks_a_user_after_five_wrong_passwords(caseworker):
    client = Client()
    fail_five_times(client, "cw-wang")
    response = sign_in(client, "cw-wang", PASSWORD)
    assert response.status_code == 429
    assert "登录已锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_user_lock_holds_from_another_address(caseworker):
    fail_five_times(Client(), "cw-wang", REMOTE_ADDR="10.1.1.1")
    response = sign_in(Client(), "cw-wang", PASSWORD, REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 429


def test_failures_from_one_address_lock_that_address_for_every_user(caseworker, regions, make_user):
    make_user("auditor", regions["zhenjiang"], username="au-li")
    client = Client()
    for name in ("a1", "a2", "a3", "a4", "a5"):
        sign_in(client, name, "guess", REMOTE_ADDR="10.9.9.9")
    assert sign_in(Client(), "au-li", PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 429
    elsewhere = sign_in(Client(), "au-li", PASSWORD, REMOTE_ADDR="10.8.8.8")
    assert elsewhere.status_code == 302


def test_four_failures_then_the_right_password_sign_in_and_start_again(caseworker):
    client = Client()
    for _ in range(4):
        sign_in(client, "cw-wang", "wrong-password")
    assert sign_in(client, "cw-wang", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="cw-wang").exists()


def test_the_admin_sign_in_is_locked_too(regions, make_user):
    make_user("admin", regions["zhenjiang"], username="zj-root", is_staff=True)
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": "zj-root", "password": "nope"})
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "zj-root", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_http_basic_auth_of_the_api_is_locked_too(caseworker):
    client = Client()
    for _ in range(5):
        assert client.get("/api/households/", **basic("cw-wang", "wrong")).status_code == 403
    response = client.get("/api/households/", **basic("cw-wang", PASSWORD))
    assert response.status_code == 403
    assert "锁定" in response.json()["detail"]


def test_a_locked_user_is_refused_on_every_path_whichever_path_failed(caseworker):
    client = Client()
    for _ in range(5):
        client.get("/api/households/", **basic("cw-wang", "wrong"))
    assert sign_in(Client(), "cw-wang", PASSWORD, REMOTE_ADDR="10.3.3.3").status_code == 429


def test_an_administrator_unlocks_a_user_of_their_region_and_it_is_recorded(
    caseworker, regions, make_user
):
    admin = make_user("admin", regions["zhenjiang"], username="zj-admin")
    fail_five_times(Client(), "cw-wang")
    entry = signin.unlock(by=admin, username="cw-wang")
    assert (entry.username, entry.attempts, entry.unlocked_by) == ("cw-wang", 5, admin)
    assert sign_in(Client(), "cw-wang", PASSWORD).status_code == 302


def test_the_user_admin_action_unlocks_and_records(caseworker, regions, make_user):
    admin = make_user("admin", regions["zhenjiang"], username="zj-admin", is_staff=True)
    fail_five_times(Client(), "cw-wang")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/beneficiaries/user/",
        {"action": "unlock_sign_in", "_selected_action": [caseworker.pk]},
    )
    assert response.status_code == 302
    assert SignInUnlock.objects.get().unlocked_by == admin
    assert not AccessAttempt.objects.filter(username="cw-wang").exists()


def test_an_administrator_of_another_city_cannot_unlock_and_nothing_is_recorded(
    caseworker, regions, make_user
):
    other = make_user("admin", regions["changzhou"], username="cz-admin")
    fail_five_times(Client(), "cw-wang")
    with pytest.raises(DomainError):
        signin.unlock(by=other, username="cw-wang")
    assert AccessAttempt.objects.filter(username="cw-wang").exists()
    assert not SignInUnlock.objects.exists()


def test_a_caseworker_cannot_unlock(caseworker, regions, make_user):
    fail_five_times(Client(), "cw-wang")
    with pytest.raises(DomainError):
        signin.unlock(by=make_user("caseworker", regions["town_a"]), username="cw-wang")
    assert not SignInUnlock.objects.exists()


def test_the_unlock_command_lifts_an_address_lock_and_records_it(caseworker, regions, make_user):
    make_user("admin", regions["jiangsu"], username="root", is_superuser=True)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        sign_in(Client(), name, "guess", REMOTE_ADDR="10.9.9.9")
    call_command("unlock_signin", ip="10.9.9.9", by="root", stdout=None)
    assert SignInUnlock.objects.get().ip_address == "10.9.9.9"
    assert sign_in(Client(), "cw-wang", PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 302


@pytest.mark.postgres
def test_unlock_records_cannot_be_changed_or_deleted(caseworker, regions, make_user):
    from django.db import DatabaseError, transaction

    entry = signin.unlock(by=make_user("admin", regions["zhenjiang"]), username="cw-wang")
    for change in (
        lambda: type(entry).objects.filter(pk=entry.pk).update(attempts=0),
        lambda: type(entry).objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert type(entry).objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "password",
    ["cw-wang-Secret!", "WANG-river-77", "Qingshan#1234x", "river-9876-lake", "lake-0000-river"],
)
def test_passwords_with_the_users_name_or_a_run_of_digits_are_refused(caseworker, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=caseworker)


def test_a_password_with_the_given_or_family_name_is_refused(regions, make_user):
    user = make_user(
        "caseworker", regions["town_a"], username="zj-cw1", first_name="伟", last_name="王"
    )
    with pytest.raises(ValidationError) as error:
        validate_password("王伟-river-lake", user=user)
    assert "姓名" in str(error.value)


def test_a_long_password_without_name_or_digit_run_is_accepted(caseworker):
    validate_password("doudi-demo-2024", user=caseworker)
    validate_password("Qinhuai river 1957", user=caseworker)


def test_a_session_ends_after_the_idle_limit(caseworker, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert sign_in(client, "cw-wang", PASSWORD).status_code == 302
    with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
        response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"].startswith("/?next=")


def test_each_request_renews_the_idle_limit(caseworker):
    client = Client()
    start = timezone.now()
    for minutes in (0, 20, 40, 60):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            if minutes == 0:
                sign_in(client, "cw-wang", PASSWORD)
            else:
                assert client.get("/home/").status_code == 200, minutes

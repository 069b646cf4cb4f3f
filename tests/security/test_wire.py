"""What travels on the wire: no caching of personal data, the schema and docs for signed-in
users only, the security headers, and production settings that `check --deploy` accepts."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from beneficiaries import services


@pytest.fixture
def caseworker(regions, make_user):
    return make_user("caseworker", regions["town_a"], username="cw-zhou")


@pytest.fixture
def household(regions, caseworker):
    return services.register_household(
        village=regions["village_a1"], address="北府路1号", hukou_type="urban", by=caseworker
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_answers_with_personal_data_are_not_stored(caseworker, household):
    response = signed_in(caseworker).get(f"/api/households/{household.pk}/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_signed_in_users_pages_are_not_stored(caseworker):
    response = signed_in(caseworker).get("/home/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/schema/?format=json"])
def test_the_schema_needs_a_signed_in_user(db, path):
    response = Client().get(path)
    assert response.status_code in (401, 403)
    assert b"openapi" not in response.content


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/api/docs/?script="])
def test_the_docs_pages_send_an_anonymous_visitor_to_sign_in(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/?next=/api/")


def test_the_schema_answers_a_signed_in_user(caseworker):
    response = signed_in(caseworker).get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/households/" in response.json()["paths"]


def test_pages_allow_only_the_apps_own_scripts_and_styles(caseworker):
    response = signed_in(caseworker).get("/home/")
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]


def test_the_sign_in_page_carries_the_policy_and_the_frame_and_referrer_headers(db):
    response = Client().get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_docs_pages_loosen_only_inline_styles_and_the_search_worker(caseworker):
    for path in ("/api/docs/", "/api/redoc/"):
        policy = signed_in(caseworker).get(path)["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert "worker-src 'self' blob:" in policy


def test_session_and_csrf_cookies_are_http_only(caseworker):
    client = Client()
    client.get("/")
    response = client.post("/", {"username": "cw-zhou", "password": "pw-for-tests"})
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["httponly"]
    assert client.cookies[settings.CSRF_COOKIE_NAME]["httponly"]


def production_env(**extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "DEBUG", "PYTEST"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="doudi.mzj.local",
        DEBUG="0",
    )
    env.update(extra)
    return env


def run_manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_reports_nothing_with_the_production_settings():
    done = run_manage("check", "--deploy", "--fail-level", "DEBUG", env=production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)" in done.stdout


def test_the_production_settings_turn_on_secure_cookies_and_hsts():
    script = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.CSRF_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    done = run_manage("shell", "-c", script, env=production_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-6:] == ["True", "True", "True", "True", "True", "31536000"]


def test_the_production_settings_refuse_the_example_secret_key():
    done = run_manage("check", env=production_env(SECRET_KEY="CHANGE_ME-a-long-random-string" * 3))
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


def test_the_browsable_api_signs_out_without_an_inline_handler(caseworker):
    response = signed_in(caseworker).get("/api/households/", HTTP_ACCEPT="text/html")
    html = response.content.decode()
    assert response.status_code == 200
    assert "onclick" not in html
    assert 'action="/api-auth/logout/?next=/api/households/"' in html


def test_the_client_address_is_the_one_the_proxy_saw_and_never_garbage(settings, rf):
    from core.signin import client_ip

    settings.PROXY_COUNT = 1
    forged = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.7", REMOTE_ADDR="172.16.0.2")
    garbage = rf.get("/", HTTP_X_FORWARDED_FOR="unknown", REMOTE_ADDR="172.16.0.2")
    assert client_ip(forged) == "10.0.0.7"  # what the client wrote itself is ignored
    assert client_ip(garbage) == ""
    settings.PROXY_COUNT = 0
    assert client_ip(forged) == "172.16.0.2"

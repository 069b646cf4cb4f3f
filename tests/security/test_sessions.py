"""Sessions are renewed on every request (the idle limit) by one UPDATE, and a signed-in user
is read with their region in one query: the statements every page pays for."""

import datetime

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.sessions import SessionStore


def verbs(queries) -> list[str]:
    return [query["sql"].split()[0] for query in queries]


@pytest.mark.django_db(transaction=True)
def test_a_session_is_renewed_by_one_update():
    store = SessionStore()
    store["search"] = "王建国"
    store.create()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() + datetime.timedelta(minutes=1)
    )
    store["page"] = 2

    with CaptureQueriesContext(connection) as ran:
        store.save()

    assert verbs(ran) == ["UPDATE"]
    row = Session.objects.get(pk=store.session_key)
    assert row.expire_date > timezone.now() + datetime.timedelta(minutes=29)
    assert SessionStore(session_key=store.session_key).load() == {"search": "王建国", "page": 2}


@pytest.mark.django_db(transaction=True)
def test_a_session_gone_meanwhile_is_not_written_again():
    store = SessionStore()
    store["search"] = "王建国"
    store.create()
    Session.objects.all().delete()  # signed out in another tab, or cleared
    store["page"] = 2

    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_inside_a_transaction_a_session_is_saved_as_django_saves_it():
    store = SessionStore()
    store["search"] = "王建国"
    store.create()
    store["page"] = 2

    with CaptureQueriesContext(connection) as ran:
        store.save()

    assert verbs(ran) == ["SAVEPOINT", "UPDATE", "RELEASE"]
    assert SessionStore(session_key=store.session_key).load()["page"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_page_reads_the_session_the_user_with_the_region_and_renews(regions, make_user):
    user = make_user("caseworker", regions["town_a"], username="cw-wang")
    client = Client()
    client.force_login(user)
    client.get("/households/")

    with CaptureQueriesContext(connection) as ran:
        response = client.get("/households/")

    assert response.status_code == 200
    assert verbs(ran) == ["SELECT", "SELECT", "UPDATE"]
    session, person, renewal = (query["sql"] for query in ran)
    assert 'FROM "django_session"' in session
    assert 'FROM "beneficiaries_user"' in person and '"beneficiaries_region"' in person
    assert renewal.startswith('UPDATE "django_session"')

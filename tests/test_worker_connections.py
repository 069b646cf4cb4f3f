"""A worker keeps its database connection from task to task, and replaces one that broke.

What a Celery worker does around each task, sent as the worker sends it: Celery's Django fix-up
(installed on every worker) and the project's own handler (config.celery). A new connection per
task cost PostgreSQL a new backend for every batch chunk.
"""

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection, connections

from config.celery import app
from payments.tasks import compute_chunk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def around_a_task(fixup: DjangoWorkerFixup) -> None:
    """The worker's signals before and after one task (not run eagerly)."""
    compute_chunk.push_request(is_eager=False)
    try:
        for signal, fixup_hook in (
            (task_prerun, fixup.on_task_prerun),
            (task_postrun, fixup.on_task_postrun),
        ):
            fixup_hook(sender=compute_chunk)
            signal.send(sender=compute_chunk, task_id="t", task=compute_chunk, args=(), kwargs={})
    finally:
        compute_chunk.pop_request()


def test_a_worker_keeps_its_connection_between_tasks():
    fixup = DjangoWorkerFixup(app)
    first = backend_pid()

    for _ in range(3):
        around_a_task(fixup)
        assert backend_pid() == first


def test_a_connection_the_server_ended_is_replaced_at_the_next_task():
    fixup = DjangoWorkerFixup(app)
    lost = backend_pid()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [lost])
    finally:
        other.close()

    around_a_task(fixup)

    assert backend_pid() != lost


def test_a_connection_past_its_age_is_replaced():
    fixup = DjangoWorkerFixup(app)
    first = backend_pid()
    connection.close_at = 0  # as CONN_MAX_AGE seconds after it was opened

    around_a_task(fixup)

    assert backend_pid() != first

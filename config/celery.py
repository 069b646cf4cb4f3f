"""The Celery app. Without CELERY_BROKER_URL, tasks run in-process (see settings)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("doudi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task=None, **kwargs) -> None:
    """Around every task on a worker, what Django does around every request: close the database
    connection only if it is broken, was left in a failed state, or is older than CONN_MAX_AGE
    (``django.db.close_old_connections``; with CONN_HEALTH_CHECKS a kept one is checked before
    its first use). Celery's own Django fix-up closes it after every task instead unless
    CELERY_DB_REUSE_MAX is set (see settings): a new connection per batch chunk cost PostgreSQL
    a new backend, its catalog caches and its compiled trigger functions, each time. Not for a
    task run eagerly (in-process), which runs inside its caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def answering_workers(timeout: float) -> list[str]:
    """The names of the workers that answer a ping within ``timeout`` seconds (none: [])."""
    return [name for reply in app.control.ping(timeout=timeout) for name in reply]

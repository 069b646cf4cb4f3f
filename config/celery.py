"""The Celery app. Without CELERY_BROKER_URL, tasks run in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("doudi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def answering_workers(timeout: float) -> list[str]:
    """The names of the workers that answer a ping within ``timeout`` seconds (none: [])."""
    return [name for reply in app.control.ping(timeout=timeout) for name in reply]

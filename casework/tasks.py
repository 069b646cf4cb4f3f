from celery import shared_task
from django.db import OperationalError

from casework.services import enrolments


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def close_ended_enrolments() -> int:
    """Daily: enrolments past their last month become stopped (idempotent)."""
    return enrolments.close_ended_enrolments()

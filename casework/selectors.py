"""Casework reads: what is in force in a month, what relief instalments are due."""

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from beneficiaries.selectors import scope

from .dates import first_of_month
from .models import CLOSED_STATES, Application, Enrolment, ReliefCase, ReliefInstalment


def enrolments_in_force(*, region_prefix: str, month: datetime.date) -> QuerySet[Enrolment]:
    """Enrolments paid in the month: active or in gradual exit, started, not yet ended.

    A stop written with a future effective month leaves the months before it in force: those
    enrolments are stopped but their ``end_month`` still covers the month.
    """
    month = first_of_month(month)
    return Enrolment.objects.filter(
        Q(status__in=[Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT])
        | Q(status=Enrolment.Status.STOPPED, end_month__isnull=False),
        Q(end_month__isnull=True) | Q(end_month__gte=month),
        region_code__startswith=region_prefix,
        start_month__lte=month,
    )


def relief_instalments_due(
    *, region_prefix: str, month: datetime.date
) -> QuerySet[ReliefInstalment]:
    """Instalments of approved relief cases due in the month (or missed earlier) and not yet
    taken into a batch. Payroll pays each as a ``relief_instalment`` line with
    ``source_ref=f"relief-instalment:{id}"`` and then calls
    ``casework.services.mark_relief_instalments_paid`` in the same transaction."""
    return ReliefInstalment.objects.filter(
        region_code__startswith=region_prefix,
        due_month__lte=first_of_month(month),
        paid_batch__isnull=True,
        relief__status=ReliefCase.Status.APPROVED,
    ).order_by("id")


def overdue_applications(*, user, today: datetime.date | None = None) -> QuerySet[Application]:
    """Open applications whose current step is past its deadline."""
    today = today or timezone.localdate()
    return scope(
        Application.objects.exclude(state__in=CLOSED_STATES).filter(step_due__lt=today),
        user=user,
    ).order_by("step_due", "id")

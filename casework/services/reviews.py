"""Periodic reviews (定期复核): a review confirms an enrolment or opens one change to it, and
schedules the next review by the enrolment's class (DOMAIN.md: stable yearly, able to work every
6 months, others as the city sets).
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from casework.models import Adjustment, ChangeRequest, Enrolment, Review
from casework.services.access import require
from casework.services.changes import propose_change
from casework.services.enrolments import (
    locked,
    monthly_amount,
    record_adjustment,
    review_due,
)
from core.exceptions import Conflict, DomainError
from core.months import first_of_month, next_month

REVIEW_CHANGES = {
    ChangeRequest.Kind.INCREASE,
    ChangeRequest.Kind.DECREASE,
    ChangeRequest.Kind.STOP,
    ChangeRequest.Kind.GRADUAL_EXIT,
}


@transaction.atomic
def review_enrolment(
    *,
    enrolment: Enrolment,
    by: User,
    note: str,
    change: str = "",
    effective_month: datetime.date | None = None,
    reason_code: str = "periodic_review",
    **change_arguments,
) -> Review:
    """A periodic review (定期复核) confirms the enrolment (a REVIEW_CONFIRMED adjustment) or
    proposes one change (increase, decrease, stop, gradual exit) with the review's note as its
    reason, made once a second person approves it (casework.services.changes). The
    next review is scheduled by the enrolment's class (DOMAIN.md: stable yearly, able to work
    every 6 months, others as the city sets)."""
    require(user=by, roles={User.Role.CASEWORKER}, region_code=enrolment.region_code)
    if not note.strip():
        raise DomainError(_("须填写复核意见。"), field="note")
    if change and change not in REVIEW_CHANGES:
        raise DomainError(_("复核只能维持、增发、减发、停发或渐退。"), field="change")
    today = timezone.localdate()
    effective_month = first_of_month(effective_month or next_month(today))
    due_on = enrolment.next_review_due or today
    adjustment = change_request = None
    if change:
        change_request = propose_change(
            enrolment=enrolment,
            kind=change,
            effective_month=effective_month,
            reason_code=reason_code,
            reason_text=note,
            by=by,
            **change_arguments,
        )
    else:
        enrolment = locked(enrolment)
        if enrolment.status not in (Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT):
            raise Conflict(_("该保障不在发放中。"), code="not_in_force")
        amount = monthly_amount(enrolment=enrolment, month=effective_month)
        adjustment = record_adjustment(
            enrolment=enrolment,
            kind=Adjustment.Kind.REVIEW_CONFIRMED,
            reason_code=reason_code,
            reason_text=note,
            effective_month=effective_month,
            amount_before=amount,
            amount_after=amount,
            by=by,
            approved_by=None,
        )
    enrolment.refresh_from_db()
    if enrolment.status == Enrolment.Status.ACTIVE and enrolment.end_month is None:
        Enrolment.objects.filter(pk=enrolment.pk).update(
            next_review_due=review_due(enrolment=enrolment, after=today)
        )
    return Review.objects.create(
        enrolment=enrolment,
        region_code=enrolment.region_code,
        due_on=due_on,
        outcome=Review.Outcome.ADJUSTED if change else Review.Outcome.CONFIRMED,
        note=note,
        adjustment=adjustment,
        change_request=change_request,
        reviewed_by=by,
    )

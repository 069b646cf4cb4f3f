"""Casework reads: what is in force in a month, what relief instalments are due."""

import datetime
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pghistory.models
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from beneficiaries.models import Household, IncomeItem, Member, User
from core.months import first_of_month, local_time
from core.scope import scope
from core.workdays import end_of_week

from .models import (
    CLOSED_STATES,
    Adjustment,
    Application,
    CaseStep,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
    ReliefInstalment,
    Review,
)


def enrolments_in_force(*, region_prefix: str, month: datetime.date) -> QuerySet[Enrolment]:
    """Enrolments paid in the month: started by then and not ended before it, active or in
    gradual exit, or stopped since with the month within their months.

    A stop sets ``end_month`` to the last month paid (a stop recorded ahead leaves the status
    active until then, see ``services.stop``), so a stopped enrolment is still in force for the
    months it was paid: recomputing one of them (back pay) must find it.
    """
    month = first_of_month(month)
    return Enrolment.objects.filter(
        Q(status__in=[Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT])
        & (Q(end_month__isnull=True) | Q(end_month__gte=month))
        | Q(status=Enrolment.Status.STOPPED, end_month__gte=month),
        region_code__startswith=region_prefix,
        start_month__lte=month,
    )


def coverage_in_month(*, household_id: int, month: datetime.date) -> tuple:
    """The household's enrolments in force in the month, (id, member id, category) by id, when
    there are two or more; else empty (rules.engine.HouseholdFacts.coverage)."""
    coverage = tuple(
        enrolments_in_force(region_prefix="", month=month)
        .filter(household_id=household_id)
        .order_by("id")
        .values_list("id", "member_id", "category")
    )
    return coverage if len(coverage) > 1 else ()


def relief_instalments_due(
    *, region_prefix: str, month: datetime.date
) -> QuerySet[ReliefInstalment]:
    """Instalments of approved relief cases due in the month (or missed earlier) and not yet
    taken into a batch. Payroll pays each as a ``relief_instalment`` line with
    ``source_ref=f"relief-instalment:{id}"`` and claims it for the batch in the same
    transaction (``payments.lines.mark_relief_instalments_paid``)."""
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


def applications_due_this_week(
    *, user, today: datetime.date | None = None
) -> QuerySet[Application]:
    """Open applications whose current step falls due from today to this week's Sunday."""
    today = today or timezone.localdate()
    return scope(
        Application.objects.exclude(state__in=CLOSED_STATES).filter(
            step_due__gte=today, step_due__lte=end_of_week(today)
        ),
        user=user,
    ).order_by("step_due", "id")


def relief_documents_overdue(*, user, today: datetime.date | None = None) -> QuerySet[ReliefCase]:
    """Pay-first cases (先行救助) whose documents were not completed in time."""
    today = today or timezone.localdate()
    return scope(
        ReliefCase.objects.filter(
            pay_first=True, documents_completed_at__isnull=True, documents_due__lt=today
        ),
        user=user,
    ).order_by("documents_due", "id")


def reviews_due(*, user, on: datetime.date | None = None) -> QuerySet[Enrolment]:
    """Enrolments in force whose periodic review is due on or before the day."""
    on = on or timezone.localdate()
    return scope(
        Enrolment.objects.filter(
            status__in=[Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT],
            next_review_due__lte=on,
        ),
        user=user,
    ).order_by("next_review_due", "id")


def adjustments_for(*, user) -> QuerySet[Adjustment]:
    """Every adjustment in the user's subtree, with who proposed and approved it."""
    return scope(
        Adjustment.objects.select_related("enrolment", "proposed_by", "approved_by"), user=user
    ).order_by("id")


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a household, in the order it happened."""

    at: datetime.datetime
    kind: str
    summary: str
    actor: str
    ref: dict


def _name(user) -> str:
    return user.username if user else ""


# What apps above casework add to a household's timeline (payments adds its lines): each source
# gives a household's entries. Registered from their AppConfig.ready.
TimelineSource = Callable[[Household], Iterable[TimelineEntry]]
timeline_sources: list[TimelineSource] = []


def add_timeline_source(source: TimelineSource) -> None:
    if source not in timeline_sources:
        timeline_sources.append(source)


def household_timeline(
    *,
    household: Household,
    members: list[Member] | None = None,
    incomes: list[IncomeItem] | None = None,
) -> list[TimelineEntry]:
    """A household's whole story: flags, application steps and objections, enrolments and their
    adjustments, reviews, temporary relief, what the ``timeline_sources`` add (payment lines)
    and, on PostgreSQL, every recorded change (django-pghistory events) to the household, its
    members, income and cases. Each table is read once; a caller that has read the household's
    members (all of them) and their income already passes them."""
    if members is None:
        members = list(Member.objects.filter(household=household))
    applications = list(Application.objects.filter(household=household))
    entries: list[TimelineEntry] = []
    referrals = list(
        Referral.objects.filter(
            Q(application__in=applications)
            | Q(id_number__in=[m.id_number for m in members])
            | Q(name__in=[m.name for m in members], village=household.village_id, id_number="")
        ).select_related("flagged_by", "handled_by")
    )
    for referral in referrals:
        entries.append(
            TimelineEntry(
                referral.created_at,
                "referral",
                f"{referral.name}: {referral.get_reason_display()} {referral.note}".strip(),
                _name(referral.flagged_by),
                {"referral": referral.pk},
            )
        )
        if referral.handled_at:
            entries.append(
                TimelineEntry(
                    referral.handled_at,
                    "referral_handled",
                    f"{referral.get_status_display()} {referral.rejection_reason}".strip(),
                    _name(referral.handled_by),
                    {"referral": referral.pk, "application": referral.application_id},
                )
            )
    steps = CaseStep.objects.filter(application__in=applications).select_related("actor")
    objections = list(
        Objection.objects.filter(application__in=applications).select_related(
            "recorded_by", "resolved_by"
        )
    )
    for step in steps:
        entries.append(
            TimelineEntry(
                step.at,
                "application_step",
                f"{step.get_to_state_display()} {step.comment}".strip(),
                _name(step.actor),
                {"application": step.application_id, "from": step.from_state, "to": step.to_state},
            )
        )
    for objection in objections:
        entries.append(
            TimelineEntry(
                objection.recorded_at,
                "objection",
                objection.content,
                _name(objection.recorded_by),
                {"application": objection.application_id, "objection": objection.pk},
            )
        )
        if objection.resolved_at:
            entries.append(
                TimelineEntry(
                    objection.resolved_at,
                    "objection_resolved",
                    objection.resolution,
                    _name(objection.resolved_by),
                    {"application": objection.application_id, "objection": objection.pk},
                )
            )
    enrolments = {e.pk: e for e in Enrolment.objects.filter(household=household)}
    adjustments = Adjustment.objects.filter(enrolment_id__in=list(enrolments)).select_related(
        "proposed_by", "approved_by"
    )
    reviews = list(
        Review.objects.filter(enrolment_id__in=list(enrolments)).select_related("reviewed_by")
    )
    for adjustment in adjustments:
        adjustment.enrolment = enrolments[adjustment.enrolment_id]
        entries.append(
            TimelineEntry(
                adjustment.created_at,
                "adjustment",
                f"{adjustment.get_kind_display()} {adjustment.enrolment.get_category_display()} "
                f"{adjustment.effective_month:%Y-%m}: {adjustment.amount_before} → "
                f"{adjustment.amount_after} ({adjustment.reason_text})",
                _name(adjustment.proposed_by),
                {
                    "enrolment": adjustment.enrolment_id,
                    "adjustment": adjustment.pk,
                    "approved_by": _name(adjustment.approved_by),
                },
            )
        )
    for review in reviews:
        entries.append(
            TimelineEntry(
                review.reviewed_at,
                "review",
                f"{review.get_outcome_display()} {review.note}",
                _name(review.reviewed_by),
                {"enrolment": review.enrolment_id, "review": review.pk},
            )
        )
    reliefs = list(
        ReliefCase.objects.filter(household=household).select_related("created_by", "decided_by")
    )
    for relief in reliefs:
        entries.append(
            TimelineEntry(
                relief.created_at,
                "relief",
                f"{relief.get_kind_display()} {relief.get_cause_display()} "
                f"{relief.proposed_amount}: {relief.need}",
                _name(relief.created_by),
                {"relief": relief.pk},
            )
        )
        if relief.decided_at:
            entries.append(
                TimelineEntry(
                    relief.decided_at,
                    "relief_decided",
                    f"{relief.get_status_display()} {relief.refusal_reason}".strip(),
                    _name(relief.decided_by),
                    {"relief": relief.pk},
                )
            )
    for source in timeline_sources:
        entries.extend(source(household))
    if settings.IS_POSTGRES:  # the history triggers exist only on PostgreSQL
        if incomes is None:
            incomes = list(IncomeItem.objects.filter(member__in=members)) if members else []
        tracked = [
            [household],
            members,
            incomes,
            applications,
            referrals,
            objections,
            list(enrolments.values()),
            reviews,
            reliefs,
        ]
        entries.extend(_history(tracked))
    return sorted(entries, key=lambda entry: entry.at)


def _history(tracked: list[list[models.Model]]) -> list[TimelineEntry]:
    """The recorded changes of these rows (a list per model), with the user who made each."""
    events = [
        event
        for objects in tracked
        if objects
        for event in pghistory.models.Events.objects.tracks(objects)
    ]
    user_ids = {(event.pgh_context or {}).get("user") for event in events} - {None}
    users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
    entries = []
    for event in events:
        context = event.pgh_context or {}
        entries.append(
            TimelineEntry(
                event.pgh_created_at,
                "history",
                f"{event.pgh_model} {event.pgh_label} #{event.pgh_obj_id}",
                users.get(context.get("user"), ""),
                {
                    "model": event.pgh_model,
                    "object": event.pgh_obj_id,
                    "diff": _local_diff(event.pgh_model, event.pgh_diff),
                    "url": context.get("url", ""),
                },
            )
        )
    return entries


def _local_diff(event_model: str, diff: dict | None) -> dict | None:
    """A history diff with its date-time values in Asia/Shanghai: the triggers write them as
    PostgreSQL renders them in the connection's time zone, UTC."""
    moments = _datetime_fields(event_model)
    if not diff or not moments:
        return diff
    return {
        field: [_local_iso(value) for value in change] if field in moments else change
        for field, change in diff.items()
    }


@functools.cache
def _datetime_fields(event_model: str) -> frozenset[str]:
    fields = apps.get_model(event_model)._meta.concrete_fields
    return frozenset(f.attname for f in fields if isinstance(f, models.DateTimeField))


def _local_iso(value: str | None) -> str | None:
    return value and local_time(datetime.datetime.fromisoformat(value)).isoformat()

"""A grid worker's flags as the grid worker reads them: what became of each, and its story.

Reads only (writes are in ``services.referrals``). A grid worker sees the flags they made inside
their region subtree, never the household's file: what became of a flag is told by its own
status and the state of the application it became, and a refusal by its reason, which the
household may be told anyway (DOMAIN.md: a refusal always carries a reason).
"""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from casework.models import CaseState, CaseStep, Referral
from core.scope import scope

# What became of a flag, in the order a flag goes.
FLAG_OUTCOMES: dict[str, Promise] = {
    "open": _("待处理"),
    "converted": _("已转申请"),
    "visited": _("已入户调查"),
    "enrolled": _("已纳入保障"),
    "refused": _("申请未获批准"),
    "rejected": _("不予受理"),
}
# Application states after the home visit was done and before a decision.
VISITED_STATES = frozenset(
    {
        CaseState.ECONOMIC_CHECK,
        CaseState.TOWNSHIP_REVIEW,
        CaseState.PUBLIC_NOTICE,
        CaseState.APPROVAL,
    }
)


def flag_outcome(*, status: str, application_state: str | None) -> str:
    """What became of a flag: still open, not accepted as a flag, or how far the application it
    became has gone (opened, visited, enrolled, refused or withdrawn)."""
    if status != Referral.Status.CONVERTED:
        return status
    if application_state == CaseState.APPROVED:
        return "enrolled"
    if application_state in (CaseState.REFUSED, CaseState.WITHDRAWN):
        return "refused"
    if application_state in VISITED_STATES:
        return "visited"
    return "converted"


def outcome_of(referral: Referral) -> str:
    state = referral.application.state if referral.application_id else None
    return flag_outcome(status=referral.status, application_state=state)


def outcome_reason(referral: Referral) -> str:
    """Why a flag went no further: the caseworker's reason for not accepting it, or the reason
    the application was refused (or withdrawn)."""
    outcome = outcome_of(referral)
    if outcome == "rejected":
        return referral.rejection_reason
    if outcome == "refused":
        application = referral.application
        if application.refusal_reason:
            return application.refusal_reason
        if application.state == CaseState.WITHDRAWN:
            return str(_("申请已撤回。"))
    return ""


def flags_of(*, user: User) -> QuerySet[Referral]:
    """The flags ``user`` made, inside their subtree, newest first."""
    return (
        scope(Referral.objects.filter(flagged_by=user), user=user)
        .select_related("application", "village")
        .order_by("-created_at", "-pk")
    )


def with_outcome(flags: QuerySet[Referral], outcome: str) -> QuerySet[Referral]:
    """The flags of ``flags`` whose outcome (:func:`flag_outcome`) is ``outcome``."""
    if outcome in (Referral.Status.OPEN, Referral.Status.REJECTED):
        return flags.filter(status=outcome)
    states = {
        "converted": (CaseState.SUBMITTED, CaseState.HOME_VISIT),
        "visited": tuple(VISITED_STATES),
        "enrolled": (CaseState.APPROVED,),
        "refused": (CaseState.REFUSED, CaseState.WITHDRAWN),
    }[outcome]
    return flags.filter(status=Referral.Status.CONVERTED, application__state__in=states)


@dataclass(frozen=True)
class FlagEvent:
    at: datetime.datetime
    title: str
    detail: str = ""
    tone: str = ""


def flag_timeline(*, referral: Referral) -> list[FlagEvent]:
    """What happened to a flag, oldest first: flagged, accepted as an application or not, each
    step of the application, and its decision with the reason or the month payments start."""
    events = [FlagEvent(referral.created_at, str(_("上报线索")), referral.get_reason_display())]
    if referral.status == Referral.Status.REJECTED:
        events.append(
            FlagEvent(
                referral.handled_at, str(_("不予受理")), referral.rejection_reason, "rejected"
            )
        )
    application = referral.application
    if application is None:
        return events
    steps = CaseStep.objects.filter(application=application).order_by("at", "pk")
    for step in steps:
        if step.to_state == CaseState.SUBMITTED:
            events.append(FlagEvent(step.at, str(_("已转为救助申请")), "", "converted"))
        elif step.to_state == CaseState.APPROVED:
            detail = ""
            if application.enrolment_id:
                detail = str(_("自%(month)s起发放")) % {
                    "month": application.enrolment.start_month.strftime("%Y-%m")
                }
            events.append(FlagEvent(step.at, str(_("批准，已纳入保障")), detail, "enrolled"))
        elif step.to_state in (CaseState.REFUSED, CaseState.WITHDRAWN):
            events.append(
                FlagEvent(
                    step.at,
                    step.get_to_state_display(),
                    application.refusal_reason or step.comment,
                    "refused",
                )
            )
        else:
            events.append(
                FlagEvent(step.at, str(_("进入%(step)s")) % {"step": step.get_to_state_display()})
            )
    return events

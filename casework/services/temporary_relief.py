"""Temporary relief (临时救助): the amount is checked against the city's limits, the tier that
approves it follows from the amount, an emergency may be paid first, a large need may be paid in
instalments. Payroll pays the instalments due (payments.batches).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, User
from casework import parameters
from casework.models import ReliefCase, ReliefInstalment
from casework.services.access import require
from casework.services.changes import require_second_signature
from casework.services.deadlines import set_deadline
from core.exceptions import Conflict, DomainError, Forbidden
from core.months import first_of_month
from core.scope import scope
from rules import engine
from rules.selectors import render_explanation
from rules.steps import ZH, language

# The engine knows three relief ceilings; the other causes fall under "other emergencies".
RELIEF_CEILING_TYPE = {
    ReliefCase.Cause.MEDICAL: engine.RELIEF_MEDICAL,
    ReliefCase.Cause.ACCIDENTAL_DEATH: engine.RELIEF_ACCIDENTAL_DEATH,
}


def _relief_plan(
    *, amount: Decimal, instalments: list[tuple[datetime.date, Decimal]] | None
) -> list[tuple[datetime.date, Decimal]]:
    this_month = first_of_month(timezone.localdate())
    plan = [(first_of_month(month), Decimal(part)) for month, part in instalments or []]
    if not plan:
        return [(this_month, amount)]
    months = [month for month, _part in plan]
    if len(set(months)) != len(months) or min(months) < this_month:
        raise DomainError(_("分期月份不能重复,也不能早于本月。"), field="instalments")
    if any(part <= 0 for _month, part in plan) or sum(part for _m, part in plan) != amount:
        raise DomainError(_("各期金额须为正数,合计等于救助金额。"), field="instalments")
    return sorted(plan)


@dataclass(frozen=True)
class ReliefAssessment:
    """Who approves relief of an amount and the most its cause allows, with their explanations;
    ``refusal`` says why the amount cannot be proposed ("" when it can)."""

    tier: str | None
    approval: engine.Result
    ceiling: engine.Result
    refusal: str


def assess_relief(
    *, region_code: str, cause: str, amount: Decimal, cost: Decimal | None, on: datetime.date
) -> ReliefAssessment:
    """The tier and the ceiling of relief of ``amount`` for ``cause`` (the engine's
    ``relief_approval`` and ``relief_ceiling`` with the region's parameters on the day): what
    ``propose_relief`` checks, and what the relief page shows as the figures are typed."""
    params = parameters.params(region_code=region_code, on=on)
    tier, approval = engine.relief_approval(amount=amount, params=params)
    ceiling = engine.relief_ceiling(
        relief_type=RELIEF_CEILING_TYPE.get(cause, engine.RELIEF_OTHER),
        params=params,
        self_paid_cost=Decimal(cost or 0),
    )
    refusal = ""
    if tier is None:
        refusal = _because(_("救助金额超过本地临时救助封顶额,不能审批。"), approval)
    elif amount > ceiling.amount:
        refusal = _because(
            str(_("该事由的救助上限为%(ceiling)s元。")) % {"ceiling": ceiling.amount}, ceiling
        )
    return ReliefAssessment(tier, approval, ceiling, refusal)


@transaction.atomic
def propose_relief(
    *,
    household: Household,
    kind: str,
    cause: str,
    need: str,
    proposed_amount: Decimal,
    by: User,
    cost: Decimal | None = None,
    pay_first: bool = False,
    instalments: list[tuple[datetime.date, Decimal]] | None = None,
) -> ReliefCase:
    """A temporary relief case (临时救助). The amount is checked against the city's limits in
    multiples of the standard (payments engine: ``relief_ceiling``), and the tier that approves it
    follows from the amount: the township up to its limit, the county up to the cap, nothing
    above (``relief_approval``). An emergency may be paid first (先行救助) within the
    township's limit: a second person approves it before its documents are complete, and they
    are due within ``casework.pay_first_document_days`` of the approval. A large need may be
    approved once and paid in stages: ``instalments`` are (month, amount) pairs summing to the
    amount; by default one, this month.
    """
    require(user=by, roles={User.Role.CASEWORKER}, region_code=household.region_code)
    if kind not in ReliefCase.Kind.values:
        raise DomainError(_("未知的救助类型。"), field="kind")
    if cause not in ReliefCase.Cause.values:
        raise DomainError(_("未知的救助事由。"), field="cause")
    if not need.strip():
        raise DomainError(_("须写明困难情况。"), field="need")
    amount = Decimal(proposed_amount)
    if amount <= 0:
        raise DomainError(_("救助金额须大于0。"), field="proposed_amount")
    today = timezone.localdate()
    assessment = assess_relief(
        region_code=household.region_code, cause=cause, amount=amount, cost=cost, on=today
    )
    if assessment.refusal:
        raise DomainError(assessment.refusal, field="proposed_amount")
    tier, approval = assessment.tier, assessment.approval
    plan = _relief_plan(amount=amount, instalments=instalments)
    relief = ReliefCase(
        household=household,
        kind=kind,
        cause=cause,
        need=need,
        cost=cost,
        proposed_amount=amount,
        tier=tier,
        pay_first=pay_first,
        created_by=by,
    )
    if pay_first:
        message = _("先行救助仅适用于乡镇审批限额内的急难型救助。")
        if kind != ReliefCase.Kind.EMERGENCY:
            raise DomainError(message, field="pay_first")
        if tier != ReliefCase.Tier.TOWNSHIP:
            raise DomainError(_because(message, approval), field="pay_first")
    relief.save()
    ReliefInstalment.objects.bulk_create(
        ReliefInstalment(
            relief=relief,
            household=household,
            region_code=relief.region_code,
            due_month=month,
            amount=part,
        )
        for month, part in plan
    )
    return relief


def _because(message, result: engine.Result) -> str:
    """A refusal's message followed by the step of its explanation that decides it (the last
    one but a rounding), in the reader's language: the figures compared and what follows
    ("救助金额 3000 元超过乡镇审批限额 2625 元：须报县级审批（封顶 13125 元）")."""
    words = render_explanation(
        amount=result.amount, steps=result.explanation(), versions=result.versions
    )
    deciding = [step for step in words["steps"] if not step["step"].startswith("round")][-1]
    formula = deciding["formula"]
    if language(get_language()) == ZH:
        return f"{message}{deciding['rule']}（{formula}）"
    return f"{message} {deciding['rule']} ({formula})."


RELIEF_APPROVERS = {
    ReliefCase.Tier.TOWNSHIP: {User.Role.CASEWORKER},
    ReliefCase.Tier.COUNTY: {User.Role.COUNTY_APPROVER},
}


def require_relief_approver(*, relief: ReliefCase, by: User) -> None:
    """``by`` may decide the relief case, or the refusal says why: the tier the amount falls in
    decides, the township caseworker up to the township's limit, the county approver above it
    (a township caseworker is told that the amount needs the county's approval, and why), never
    the person who proposed it (STYLE.md rule 27; a CHECK constraint refuses it too)."""
    if relief.tier == ReliefCase.Tier.COUNTY and by.role not in RELIEF_APPROVERS[relief.tier]:
        params = parameters.params(
            region_code=relief.region_code, on=timezone.localdate(relief.created_at)
        )
        _tier, approval = engine.relief_approval(amount=relief.proposed_amount, params=params)
        raise Conflict(_because(_("该救助须由县级审批。"), approval), code="role")
    if relief.tier == ReliefCase.Tier.TOWNSHIP and by.role not in RELIEF_APPROVERS[relief.tier]:
        raise Forbidden(_("该救助在乡镇审批限额内，由乡镇经办人审批。"), code="role")
    require_second_signature(
        proposer_ids={relief.created_by_id},
        by=by,
        region_code=relief.region_code,
        roles=RELIEF_APPROVERS[relief.tier],
    )


def awaiting_decision(*, user: User) -> QuerySet[ReliefCase]:
    """Relief cases of the subtree waiting for this user's signature: those of the tier the
    user's role decides (``RELIEF_APPROVERS``) that someone else proposed."""
    tiers = [tier for tier, roles in RELIEF_APPROVERS.items() if user.role in roles]
    waiting = ReliefCase.objects.filter(status=ReliefCase.Status.SUBMITTED, tier__in=tiers)
    return scope(waiting, user=user).exclude(created_by=user).order_by("created_at", "id")


@transaction.atomic
def decide_relief(*, relief: ReliefCase, approve: bool, by: User, reason: str = "") -> ReliefCase:
    """A second person decides (``require_relief_approver``). A refusal carries a reason the
    household can be told; a pay-first case's documents fall due from its approval."""
    require_relief_approver(relief=relief, by=by)
    if not approve and not reason.strip():
        raise DomainError(_("不予救助须写明理由。"), field="reason")
    relief = ReliefCase.objects.select_for_update().get(pk=relief.pk)
    if relief.status != ReliefCase.Status.SUBMITTED:
        raise Conflict(_("该临时救助已审批。"), code="relief_decided")
    relief.status = ReliefCase.Status.APPROVED if approve else ReliefCase.Status.REFUSED
    relief.refusal_reason = "" if approve else reason
    relief.decided_by = by
    relief.decided_at = timezone.now()
    if approve and relief.pay_first:
        today = timezone.localdate()
        days = parameters.parameter(
            region_code=relief.region_code, component="casework.pay_first_document_days", on=today
        )
        set_deadline(relief, "documents_due", start=today, days=int(days))
    relief.save()
    return relief


@transaction.atomic
def complete_relief_documents(*, relief: ReliefCase, by: User) -> ReliefCase:
    """The documents of a pay-first case (先行救助) have been completed."""
    require(user=by, roles={User.Role.CASEWORKER}, region_code=relief.region_code)
    completed = ReliefCase.objects.filter(
        pk=relief.pk, pay_first=True, documents_completed_at__isnull=True
    ).update(documents_completed_at=timezone.now(), updated_at=timezone.now())
    if not completed:
        raise Conflict(_("该救助无需补齐材料或已补齐。"), code="documents_complete")
    relief.refresh_from_db()
    return relief

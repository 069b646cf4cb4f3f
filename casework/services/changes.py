"""Changes that move money, on two signatures (STYLE.md rule 27; DOMAIN.md: dynamic adjustment).

A caseworker proposes a change to an enrolment (增发, 减发, 停发, 恢复, 渐退) as a
``ChangeRequest``; nothing is paid differently until a second person approves it: the county
approver of the region, or a township caseworker where the county has delegated approval
(parameter ``casework.township_approves``), never the proposer. Approval makes the change through
``casework.services.enrolments`` and records the adjustment with both names. The proposer may
withdraw a proposal; an approver may reject it with a reason. A gradual exit's amount and months
are bounded by the rules when proposed and again when approved: never above the last amount the
engine computed, never negative, never longer than ``gradual_exit_months`` (or
``gradual_exit_months_severe``) allow for the household.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from casework import parameters
from casework.models import ChangeRequest, Enrolment
from casework.services import enrolments
from casework.services.access import require
from core.exceptions import Conflict, DomainError
from core.months import add_months, first_of_month
from core.scope import scope

Kind = ChangeRequest.Kind
Status = ChangeRequest.Status

APPLY = {
    Kind.INCREASE: enrolments.increase,
    Kind.DECREASE: enrolments.decrease,
    Kind.STOP: enrolments.stop,
    Kind.RESUME: enrolments.resume,
    Kind.GRADUAL_EXIT: enrolments.gradual_exit,
}


def approver_roles(*, region_code: str, on: datetime.date) -> frozenset[str]:
    """Who approves a change that moves money in the region: the county approver, and also the
    township caseworker where the county has delegated approval (``casework.township_approves``)."""
    delegated = parameters.parameter(
        region_code=region_code, component="casework.township_approves", on=on
    )
    if delegated:
        return frozenset({User.Role.COUNTY_APPROVER, User.Role.CASEWORKER})
    return frozenset({User.Role.COUNTY_APPROVER})


def require_second_signature(
    *,
    proposer_ids: set[int],
    by: User,
    region_code: str,
    roles: Iterable[str] | None = None,
) -> None:
    """``by`` may approve money the proposers asked for: one of ``roles`` inside the region (by
    default the approvers of the region, ``approver_roles``) who is none of them (STYLE.md rule
    27). The one check of the second signature: changes, applications, relief and recoveries."""
    if roles is None:
        roles = approver_roles(region_code=region_code, on=timezone.localdate())
    require(user=by, roles=set(roles), region_code=region_code)
    if by.pk in proposer_ids:
        raise Conflict(
            _("提出或经办此事项的人不能审批:须由另一名有审批权限的人员审批。"),
            code="approver_is_proposer",
        )


def awaiting_decision(*, user: User) -> QuerySet[ChangeRequest]:
    """Proposed changes of the subtree waiting for this user's signature: in the regions where
    the user's role approves (``approver_roles``, one look-up per region code with a proposal
    waiting), proposed by someone else."""
    waiting = scope(ChangeRequest.objects.filter(status=Status.PROPOSED), user=user).exclude(
        proposed_by=user
    )
    today = timezone.localdate()
    codes = {
        code
        for code in waiting.order_by().values_list("region_code", flat=True).distinct()
        if user.role in approver_roles(region_code=code, on=today)
    }
    return waiting.filter(region_code__in=codes).order_by("created_at", "id")


def require_approver(*, change: ChangeRequest, by: User) -> None:
    """``by`` may approve the change, or the refusal says why: a second signature
    (``require_second_signature``), and the county's for a month before the back-pay window."""
    require_second_signature(
        proposer_ids={change.proposed_by_id}, by=by, region_code=change.region_code
    )
    _require_county_before_back_pay_window(change=change, by=by)


def _require_county_before_back_pay_window(*, change: ChangeRequest, by: User) -> None:
    """A change dated before the region's back-pay window (``back_pay_months``) reaches months
    the batch no longer corrects by itself: only a county approver signs it, even where the
    county has delegated approval to townships."""
    this_month = first_of_month(timezone.localdate())
    window = int(
        parameters.parameter(
            region_code=change.region_code, component="back_pay_months", on=this_month
        )
    )
    earliest = add_months(this_month, -window)
    if change.effective_month < earliest and by.role != User.Role.COUNTY_APPROVER:
        raise Conflict(
            _("生效月份早于补发期(%(month)s起)，须由县级审批人审批。")
            % {"month": earliest.strftime("%Y-%m")},
            code="county_approval_needed",
        )


@transaction.atomic
def propose_change(
    *,
    enrolment: Enrolment,
    kind: str,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    amount: Decimal | None = None,
    months: int | None = None,
) -> ChangeRequest:
    """The township caseworker proposes a change to an enrolment; it waits for an approver.
    One open proposal per enrolment at a time, so two changes never race each other."""
    require(user=by, roles={User.Role.CASEWORKER}, region_code=enrolment.region_code)
    if first_of_month(effective_month) < enrolment.start_month:
        raise DomainError(
            _("生效月份不能早于该待遇的起始月份(%(month)s)。")
            % {"month": enrolment.start_month.strftime("%Y-%m")},
            field="effective_month",
        )
    if kind not in Kind.values:
        raise DomainError(_("未知的调整类型。"), field="kind")
    if not reason_code or not str(reason_text).strip():
        raise DomainError(_("调整必须写明原因。"), field="reason_text")
    enrolment = enrolments.locked(enrolment)
    if enrolment.change_requests.filter(status=Status.PROPOSED).exists():
        raise Conflict(_("该保障已有待审批的调整,请先审批或撤回。"), code="change_pending")
    effective_month = first_of_month(effective_month)
    if kind == Kind.GRADUAL_EXIT:
        amount, months = enrolments.gradual_exit_terms(
            enrolment=enrolment, effective_month=effective_month, amount=amount, months=months
        )
    elif amount is not None or months is not None:
        raise DomainError(_("只有渐退可以写明金额和月数。"), field="amount")
    return ChangeRequest.objects.create(
        enrolment=enrolment,
        kind=kind,
        effective_month=effective_month,
        reason_code=reason_code,
        reason_text=reason_text,
        amount=amount,
        months=months,
        proposed_by=by,
    )


def _claim(change: ChangeRequest) -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().get(pk=change.pk)
    if change.status != Status.PROPOSED:
        raise Conflict(
            str(_("该调整申请已%(status)s。")) % {"status": change.get_status_display()},
            code="change_decided",
        )
    return change


@transaction.atomic
def approve_change(*, change: ChangeRequest, by: User, note: str = "") -> ChangeRequest:
    """A second person approves: the change is made as proposed, and its adjustment names the
    proposer and the approver. The rules are checked again as of now."""
    change = _claim(change)
    require_approver(change=change, by=by)
    arguments = {}
    if change.kind == Kind.GRADUAL_EXIT:
        amount, months = enrolments.gradual_exit_terms(
            enrolment=change.enrolment,
            effective_month=change.effective_month,
            amount=change.amount,
            months=change.months,
        )
        arguments = {"amount": amount, "months": months}
    made = APPLY[change.kind](
        enrolment=change.enrolment,
        effective_month=change.effective_month,
        reason_code=change.reason_code,
        reason_text=change.reason_text,
        by=change.proposed_by,
        approved_by=by,
        **arguments,
    )
    change.status = Status.APPROVED
    change.decided_by = by
    change.decided_at = timezone.now()
    change.decision_note = note
    change.adjustment = made.adjustment
    change.save()
    return change


@transaction.atomic
def reject_change(*, change: ChangeRequest, by: User, note: str) -> ChangeRequest:
    """An approver refuses the change, with a reason; nothing is changed."""
    change = _claim(change)
    require_second_signature(
        proposer_ids={change.proposed_by_id}, by=by, region_code=change.region_code
    )
    if not note.strip():
        raise DomainError(_("不予批准须写明理由。"), field="note")
    change.status = Status.REJECTED
    change.decided_by = by
    change.decided_at = timezone.now()
    change.decision_note = note
    change.save()
    return change


@transaction.atomic
def withdraw_change(*, change: ChangeRequest, by: User) -> ChangeRequest:
    """The proposer takes the proposal back before it is decided."""
    change = _claim(change)
    if change.proposed_by_id != by.pk:
        raise Conflict(_("只有提出人可以撤回调整申请。"), code="not_proposer")
    change.status = Status.WITHDRAWN
    change.decided_by = by
    change.decided_at = timezone.now()
    change.save()
    return change

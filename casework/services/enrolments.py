"""Enrolments and their dynamic adjustments (动态调整).

Every change that affects who is paid or how much writes one immutable ``Adjustment`` with the
reason, the effective month and the monthly amount before and after, as the engine computes them
(DOMAIN.md: dynamic adjustment; a stop always carries a reason the household can be told). An
enrolment is one unbroken period of coverage; each change returns an :class:`EnrolmentChange`.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, User
from casework import parameters
from casework.facts import explain_enrolment, facts_for_enrolment
from casework.models import (
    MEMBER_CATEGORIES,
    Adjustment,
    CareLevel,
    Category,
    Enrolment,
    ReviewClass,
)
from core.exceptions import Conflict, DomainError
from core.months import add_months, first_of_month, format_month
from rules import engine

OPEN_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.GRADUAL_EXIT,
    Enrolment.Status.SUSPENDED,
)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class EnrolmentChange:
    """What a change to an enrolment did: the enrolment that carries it (a resume after a gap
    goes on in a new enrolment) and the adjustment recorded."""

    enrolment: Enrolment
    adjustment: Adjustment


def monthly_amount(*, enrolment: Enrolment, month: datetime.date) -> Decimal | None:
    """What the payments engine computes for the enrolment in the month, from that month's facts
    and parameters; None where the region has no standard in force (nothing can be computed)."""
    try:
        return explain_enrolment(enrolment=enrolment, month=month).amount
    except engine.MissingParameter:
        return None


def review_due(*, enrolment: Enrolment, after: datetime.date) -> datetime.date:
    """The next periodic review: stable yearly, able to work every 6 months, others as the city
    sets (DOMAIN.md: periodic review); intervals are parameters."""
    months = parameters.parameter(
        region_code=enrolment.region_code,
        component=f"casework.review_months.{enrolment.review_class}",
        on=after,
    )
    return add_months(first_of_month(after), int(months))


def record_adjustment(
    *,
    enrolment: Enrolment,
    kind: str,
    reason_code: str,
    reason_text: str,
    effective_month: datetime.date,
    amount_before: Decimal | None,
    amount_after: Decimal | None,
    by: User,
    approved_by: User | None,
) -> Adjustment:
    """Record an adjustment with who proposed it and who approved it: never the same person
    (STYLE.md rule 27; a CHECK constraint refuses it too). ``approved_by`` is None only for
    what the engine derives from a registry event or the calendar (a death, a move, the end of
    a gradual exit), never for a decision."""
    if not reason_code or not str(reason_text).strip():
        raise DomainError(_("调整必须写明原因。"), field="reason_text")
    if approved_by is not None and approved_by.pk == by.pk:
        raise Conflict(
            _("提出或经办此事项的人不能审批:须由另一名有审批权限的人员审批。"),
            code="approver_is_proposer",
        )
    return Adjustment.objects.create(
        enrolment=enrolment,
        region_code=enrolment.region_code,
        kind=kind,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=amount_before,
        amount_after=amount_after,
        proposed_by=by,
        approved_by=approved_by,
    )


def locked(enrolment: Enrolment) -> Enrolment:
    return Enrolment.objects.select_for_update().get(pk=enrolment.pk)


def check_coverage(
    *, household: Household, category: str, member: Member | None, care_level: str
) -> None:
    """Member categories (单人保, 特困, children) name a living member of the household; the
    household categories do not; only 特困 carries a care level, and it must."""
    if category not in Category.values:
        raise DomainError(_("未知的保障类别。"), field="category")
    if category in MEMBER_CATEGORIES:
        if member is None:
            raise DomainError(_("该类别须指定保障的家庭成员。"), field="member")
        if member.household_id != household.pk or not member.is_active:
            raise DomainError(_("该成员不在此家庭中。"), field="member")
        if not member.is_alive:
            raise DomainError(_("该成员已死亡。"), field="member")
    elif member is not None:
        raise DomainError(_("该类别按户保障,不指定成员。"), field="member")
    if category == Category.TEKUN and care_level not in CareLevel.values:
        raise DomainError(_("特困供养须评定护理等级。"), field="care_level")
    if category != Category.TEKUN and care_level:
        raise DomainError(_("只有特困供养评定护理等级。"), field="care_level")


@transaction.atomic
def enrol(
    *,
    household: Household,
    category: str,
    start_month: datetime.date,
    by: User,
    approved_by: User,
    member: Member | None = None,
    care_level: str = "",
    review_class: str = ReviewClass.STABLE,
    reason_code: str = "approved",
    reason_text: str = "",
) -> Enrolment:
    """Cover a household (or one of its members) under a category from a month, with a NEW
    adjustment. Member categories (单人保, 特困, children) name the member; 特困 needs a care
    level."""
    start_month = first_of_month(start_month)
    check_coverage(household=household, category=category, member=member, care_level=care_level)
    open_same = Enrolment.objects.filter(
        household=household, member=member, category=category, status__in=OPEN_STATUSES
    )
    if open_same.exists():
        raise Conflict(_("该对象已在此类别中保障,不能重复纳入。"), code="already_enrolled")
    enrolment = Enrolment(
        household=household,
        member=member,
        category=category,
        start_month=start_month,
        care_level=care_level,
        review_class=review_class,
    )
    enrolment.region_code = household.region_code
    enrolment.next_review_due = review_due(enrolment=enrolment, after=start_month)
    enrolment.save()
    record_adjustment(
        enrolment=enrolment,
        kind=Adjustment.Kind.NEW,
        reason_code=reason_code,
        reason_text=reason_text or str(_("审批纳入保障")),
        effective_month=start_month,
        amount_before=None,
        amount_after=monthly_amount(enrolment=enrolment, month=start_month),
        by=by,
        approved_by=approved_by,
    )
    return enrolment


@transaction.atomic
def stop(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User,
) -> EnrolmentChange:
    """停发: nothing is paid from the effective month on; the last month paid is the one before.

    A stop from a later month keeps the status until that month comes (``end_month`` already
    bounds the payments), so a batch computed in between still pays the months before it;
    ``close_ended_enrolments`` then sets the status."""
    return end_enrolment(
        enrolment=enrolment,
        kind=Adjustment.Kind.STOP,
        effective_month=effective_month,
        amount_before=monthly_amount(enrolment=enrolment, month=first_of_month(effective_month)),
        reason_code=reason_code,
        reason_text=reason_text,
        by=by,
        approved_by=approved_by,
    )


def end_enrolment(
    *,
    enrolment: Enrolment,
    kind: str,
    effective_month: datetime.date,
    amount_before: Decimal | None,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None = None,
) -> EnrolmentChange:
    """End an open enrolment from a month with an adjustment of ``kind`` (stop, move)."""
    enrolment = locked(enrolment)
    if enrolment.status not in OPEN_STATUSES:
        raise Conflict(_("该保障已停止。"), code="not_open")
    if enrolment.status == Enrolment.Status.ACTIVE and enrolment.end_month is not None:
        raise Conflict(
            str(_("已安排自%(month)s起停发。"))
            % {"month": format_month(add_months(enrolment.end_month, 1))},
            code="stop_pending",
        )
    effective_month = first_of_month(effective_month)
    last_paid = add_months(effective_month, -1)
    if last_paid < enrolment.start_month:
        # Stopped before its first month, it was never in force: no end month is recorded.
        enrolment.end_month = None
    else:
        enrolment.end_month = min(last_paid, enrolment.end_month or last_paid)
    if enrolment.end_month is None or effective_month <= first_of_month(timezone.localdate()):
        enrolment.status = Enrolment.Status.STOPPED
    enrolment.next_review_due = None
    enrolment.save()
    adjustment = record_adjustment(
        enrolment=enrolment,
        kind=kind,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=amount_before,
        amount_after=ZERO,
        by=by,
        approved_by=approved_by,
    )
    return EnrolmentChange(enrolment, adjustment)


@transaction.atomic
def close_ended_enrolments(*, today: datetime.date | None = None) -> int:
    """Mark stopped the enrolments whose last month has passed: stops recorded ahead and gradual
    exits that ran their course (DOMAIN.md rule 7: "then stops"); the end of a gradual exit is
    recorded as a STOP adjustment. Safe to run any number of times (the beat runs it daily)."""
    this_month = first_of_month(today or timezone.localdate())
    ended = list(
        Enrolment.objects.select_for_update()
        .filter(
            status__in=[Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT],
            end_month__lt=this_month,
        )
        .only("pk", "region_code", "status", "end_month", "gradual_exit_amount")
    )
    Adjustment.objects.bulk_create(
        Adjustment(
            enrolment=enrolment,
            region_code=enrolment.region_code,
            kind=Adjustment.Kind.STOP,
            reason_code="gradual_exit_ended",
            reason_text=str(_("渐退期满")),
            effective_month=add_months(enrolment.end_month, 1),
            amount_before=enrolment.gradual_exit_amount,
            amount_after=ZERO,
        )
        for enrolment in ended
        if enrolment.status == Enrolment.Status.GRADUAL_EXIT
    )
    return Enrolment.objects.filter(pk__in=[enrolment.pk for enrolment in ended]).update(
        status=Enrolment.Status.STOPPED, next_review_due=None, updated_at=timezone.now()
    )


@transaction.atomic
def resume(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User,
) -> EnrolmentChange:
    """恢复: a stopped or suspended enrolment is paid again from the effective month.

    An enrolment is one unbroken period of coverage (payments and back pay read its months).
    Resumed from the month after its last paid month (or a stop recorded ahead cancelled), it
    simply goes on; resumed later, the months between were not covered, so the old enrolment
    stays stopped at its last month and the coverage goes on in a new enrolment from the
    effective month, which is returned and carries the RESUME adjustment."""
    enrolment = locked(enrolment)
    stop_pending = enrolment.status == Enrolment.Status.ACTIVE and enrolment.end_month is not None
    if enrolment.status not in (Enrolment.Status.STOPPED, Enrolment.Status.SUSPENDED) and not (
        stop_pending
    ):
        raise Conflict(_("只有已停发或暂停的保障才能恢复。"), code="not_stopped")
    if enrolment.member_id and not enrolment.member.is_alive:
        raise Conflict(_("保障对象已死亡,不能恢复。"), code="member_dead")
    effective_month = first_of_month(effective_month)
    clash = Enrolment.objects.filter(
        household=enrolment.household_id,
        member=enrolment.member_id,
        category=enrolment.category,
        status__in=OPEN_STATUSES,
    ).exclude(pk=enrolment.pk)
    if clash.exists():
        raise Conflict(_("该对象在此类别中已有有效保障。"), code="already_enrolled")
    if effective_month < enrolment.start_month:
        raise DomainError(_("恢复月份不能早于保障起始月份。"), field="effective_month")
    unbroken = enrolment.end_month is not None and effective_month <= add_months(
        enrolment.end_month, 1
    )
    if unbroken:
        enrolment.status = Enrolment.Status.ACTIVE
        enrolment.end_month = None
    else:
        enrolment.status = Enrolment.Status.STOPPED
        enrolment.next_review_due = None
        enrolment.save()
        enrolment = Enrolment(
            household_id=enrolment.household_id,
            member_id=enrolment.member_id,
            category=enrolment.category,
            care_level=enrolment.care_level,
            review_class=enrolment.review_class,
            start_month=effective_month,
        )
    enrolment.next_review_due = review_due(enrolment=enrolment, after=effective_month)
    enrolment.save()
    adjustment = record_adjustment(
        enrolment=enrolment,
        kind=Adjustment.Kind.RESUME,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=ZERO,
        amount_after=monthly_amount(enrolment=enrolment, month=effective_month),
        by=by,
        approved_by=approved_by,
    )
    return EnrolmentChange(enrolment, adjustment)


def gradual_exit_terms(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    amount: Decimal | None,
    months: int | None,
) -> tuple[Decimal, int]:
    """The amount and months of a gradual exit from ``effective_month``, within what the rules
    allow: the amount defaults to the last amount the engine computed (the month before) and is
    never above it nor negative; the months default to, and never exceed, what the parameters
    give the household (DOMAIN.md rule 7)."""
    effective_month = first_of_month(effective_month)
    last = monthly_amount(enrolment=enrolment, month=add_months(effective_month, -1))
    if last is None:
        raise DomainError(_("上月金额无法计算(无适用标准),不能渐退。"), field="amount")
    if amount is None:
        amount = last
    if amount < 0:
        raise DomainError(_("渐退期金额不能为负数。"), field="amount")
    if amount > last:
        raise DomainError(
            str(_("渐退期金额不能高于上月金额%(last)s元。")) % {"last": last}, field="amount"
        )
    _facts, household = facts_for_enrolment(enrolment=enrolment, month=effective_month)
    allowed = engine.gradual_exit_months(
        household, parameters.params(region_code=enrolment.region_code, on=effective_month)
    )
    if months is None:
        months = allowed
    if months < 1:
        raise DomainError(_("渐退期至少一个月。"), field="months")
    if months > allowed:
        raise DomainError(
            str(_("渐退期最长%(allowed)s个月。")) % {"allowed": allowed}, field="months"
        )
    return amount, months


@transaction.atomic
def gradual_exit(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User,
    amount: Decimal | None = None,
    months: int | None = None,
) -> EnrolmentChange:
    """渐退: income rose above the standard through work; the last approved amount is kept for
    ``months`` (parameter, default 6; longer where a member is severely disabled or seriously
    ill), then the enrolment ends (DOMAIN.md rule 7). Neither is set beyond what the rules allow
    (``gradual_exit_terms``)."""
    enrolment = locked(enrolment)
    if enrolment.status != Enrolment.Status.ACTIVE or enrolment.end_month is not None:
        raise Conflict(_("只有在保且未安排停发的保障才能渐退。"), code="not_active")
    effective_month = first_of_month(effective_month)
    amount, months = gradual_exit_terms(
        enrolment=enrolment, effective_month=effective_month, amount=amount, months=months
    )
    enrolment.status = Enrolment.Status.GRADUAL_EXIT
    enrolment.gradual_exit_amount = amount
    enrolment.gradual_exit_from = effective_month
    enrolment.gradual_exit_until = add_months(effective_month, months - 1)
    enrolment.end_month = enrolment.gradual_exit_until
    enrolment.save()
    adjustment = record_adjustment(
        enrolment=enrolment,
        kind=Adjustment.Kind.GRADUAL_EXIT,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=amount,
        amount_after=amount,
        by=by,
        approved_by=approved_by,
    )
    return EnrolmentChange(enrolment, adjustment)


def _amount_change(
    *,
    kind: str,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None,
) -> EnrolmentChange:
    enrolment = locked(enrolment)
    if enrolment.status not in (Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT):
        raise Conflict(_("该保障不在发放中。"), code="not_in_force")
    effective_month = first_of_month(effective_month)
    adjustment = record_adjustment(
        enrolment=enrolment,
        kind=kind,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=monthly_amount(enrolment=enrolment, month=add_months(effective_month, -1)),
        amount_after=monthly_amount(enrolment=enrolment, month=effective_month),
        by=by,
        approved_by=approved_by,
    )
    return EnrolmentChange(enrolment, adjustment)


@transaction.atomic
def increase(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User,
) -> EnrolmentChange:
    """增发: the household's facts changed (income fell, a member joined, a supplement applies)
    and the amount computed from the effective month rises; the engine computes both amounts."""
    return _amount_change(
        kind=Adjustment.Kind.INCREASE,
        enrolment=enrolment,
        effective_month=effective_month,
        reason_code=reason_code,
        reason_text=reason_text,
        by=by,
        approved_by=approved_by,
    )


@transaction.atomic
def decrease(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User,
) -> EnrolmentChange:
    """减发: the amount computed from the effective month falls (income rose, a member died or
    left)."""
    return _amount_change(
        kind=Adjustment.Kind.DECREASE,
        enrolment=enrolment,
        effective_month=effective_month,
        reason_code=reason_code,
        reason_text=reason_text,
        by=by,
        approved_by=approved_by,
    )

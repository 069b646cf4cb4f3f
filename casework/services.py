"""Casework writes: enrolments and their dynamic adjustments (动态调整), deaths.

Every change that affects who is paid or how much writes one immutable ``Adjustment`` with the
reason, the effective month and the monthly amount before and after (DOMAIN.md: dynamic
adjustment; a stop always carries a reason the household can be told).
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, User
from config.exceptions import Conflict, DomainError

from . import parameters
from .dates import add_months, first_of_month, next_month
from .models import (
    MEMBER_CATEGORIES,
    Adjustment,
    CareLevel,
    Category,
    Enrolment,
    ReliefInstalment,
    ReviewClass,
)

OPEN_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.GRADUAL_EXIT,
    Enrolment.Status.SUSPENDED,
)
ZERO = Decimal("0.00")


def monthly_amount(*, enrolment: Enrolment, month: datetime.date) -> Decimal | None:
    """What the payments engine computes for the enrolment in the month (None until it exists)."""
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


def _record(
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
    if not reason_code or not str(reason_text).strip():
        raise DomainError(_("调整必须写明原因。"), field="reason_text")
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
        approved_by=approved_by or by,
    )


def _locked(enrolment: Enrolment) -> Enrolment:
    return Enrolment.objects.select_for_update().get(pk=enrolment.pk)


@transaction.atomic
def enrol(
    *,
    household: Household,
    category: str,
    start_month: datetime.date,
    by: User,
    member: Member | None = None,
    care_level: str = "",
    review_class: str = ReviewClass.STABLE,
    reason_code: str = "approved",
    reason_text: str = "",
    approved_by: User | None = None,
) -> Enrolment:
    """Cover a household (or one of its members) under a category from a month, with a NEW
    adjustment. Member categories (单人保, 特困, children) name the member; 特困 needs a care
    level."""
    start_month = first_of_month(start_month)
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
    _record(
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
    approved_by: User | None = None,
) -> Enrolment:
    """停发: nothing is paid from the effective month on; the last month paid is the one before."""
    enrolment = _locked(enrolment)
    if enrolment.status not in OPEN_STATUSES:
        raise Conflict(_("该保障已停止。"), code="not_open")
    effective_month = first_of_month(effective_month)
    last_paid = add_months(effective_month, -1)
    before = monthly_amount(enrolment=enrolment, month=last_paid)
    enrolment.status = Enrolment.Status.STOPPED
    # Stopped before its first month, it was never in force: no end month is recorded.
    enrolment.end_month = last_paid if last_paid >= enrolment.start_month else None
    enrolment.next_review_due = None
    enrolment.save()
    _record(
        enrolment=enrolment,
        kind=Adjustment.Kind.STOP,
        reason_code=reason_code,
        reason_text=reason_text,
        effective_month=effective_month,
        amount_before=before,
        amount_after=ZERO,
        by=by,
        approved_by=approved_by,
    )
    return enrolment


@transaction.atomic
def resume(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None = None,
) -> Enrolment:
    """恢复: a stopped or suspended enrolment is paid again from the effective month."""
    enrolment = _locked(enrolment)
    if enrolment.status not in (Enrolment.Status.STOPPED, Enrolment.Status.SUSPENDED):
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
    enrolment.status = Enrolment.Status.ACTIVE
    enrolment.end_month = None
    enrolment.start_month = min(enrolment.start_month, effective_month)
    enrolment.next_review_due = review_due(enrolment=enrolment, after=effective_month)
    enrolment.save()
    _record(
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
    return enrolment


@transaction.atomic
def gradual_exit(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    amount: Decimal | None = None,
    months: int | None = None,
    approved_by: User | None = None,
) -> Enrolment:
    """渐退: income rose above the standard through work; the last approved amount is kept for
    ``months`` (parameter, default 6; longer where a member is severely disabled or seriously
    ill), then the enrolment ends (DOMAIN.md rule 7)."""
    enrolment = _locked(enrolment)
    if enrolment.status != Enrolment.Status.ACTIVE:
        raise Conflict(_("只有在保状态的保障才能渐退。"), code="not_active")
    effective_month = first_of_month(effective_month)
    if months is None:
        months = int(
            parameters.parameter(
                region_code=enrolment.region_code,
                component="casework.gradual_exit_months",
                on=effective_month,
            )
        )
    if months < 1:
        raise DomainError(_("渐退期至少一个月。"), field="months")
    if amount is None:
        amount = monthly_amount(enrolment=enrolment, month=add_months(effective_month, -1))
    if amount is None:
        raise DomainError(_("须写明渐退期金额。"), field="amount")
    enrolment.status = Enrolment.Status.GRADUAL_EXIT
    enrolment.gradual_exit_amount = amount
    enrolment.gradual_exit_until = add_months(effective_month, months - 1)
    enrolment.end_month = enrolment.gradual_exit_until
    enrolment.save()
    _record(
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
    return enrolment


def _amount_change(
    *,
    kind: str,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None,
) -> Adjustment:
    enrolment = _locked(enrolment)
    if enrolment.status not in (Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT):
        raise Conflict(_("该保障不在发放中。"), code="not_in_force")
    effective_month = first_of_month(effective_month)
    return _record(
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


@transaction.atomic
def increase(
    *,
    enrolment: Enrolment,
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None = None,
) -> Adjustment:
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
    approved_by: User | None = None,
) -> Adjustment:
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


@transaction.atomic
def record_death(*, member: Member, died_on: datetime.date, by: User) -> Member:
    """Record a member's death and adjust, from the next month, every enrolment it affects:
    the member's own enrolments stop; a household enrolment stops when no living member is left
    and is otherwise reduced (DOMAIN.md: an overpayment after a death is recovered, so the change
    must not wait for the next review)."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_alive:
        raise Conflict(_("该成员的死亡已登记。"), code="already_dead")
    if died_on > datetime.date.today():
        raise DomainError(_("死亡日期不能晚于今天。"), field="died_on")
    effective = next_month(died_on)
    # The amounts before are computed while the member still counts.
    household_enrolments = list(
        Enrolment.objects.filter(
            household=member.household_id, member__isnull=True, status__in=OPEN_STATUSES
        )
    )
    befores = {
        e.pk: monthly_amount(enrolment=e, month=add_months(effective, -1))
        for e in household_enrolments
    }
    member.is_alive = False
    member.death_date = died_on
    member.save(update_fields=["is_alive", "death_date", "updated_at"])
    reason = str(_("成员死亡(%(date)s)")) % {"date": died_on.isoformat()}
    for enrolment in Enrolment.objects.filter(member=member, status__in=OPEN_STATUSES):
        stop(
            enrolment=enrolment,
            effective_month=effective,
            reason_code="death",
            reason_text=f"{member.name} {reason}",
            by=by,
        )
    survivors = Member.objects.filter(household=member.household_id, is_active=True, is_alive=True)
    for enrolment in household_enrolments:
        text = f"{member.name} {reason}"
        if not survivors.exists():
            stop(
                enrolment=enrolment,
                effective_month=effective,
                reason_code="death",
                reason_text=text,
                by=by,
            )
        elif enrolment.status != Enrolment.Status.SUSPENDED:
            _record(
                enrolment=enrolment,
                kind=Adjustment.Kind.DECREASE,
                reason_code="death",
                reason_text=text,
                effective_month=effective,
                amount_before=befores[enrolment.pk],
                amount_after=monthly_amount(enrolment=enrolment, month=effective),
                by=by,
                approved_by=by,
            )
    return member


def mark_relief_instalments_paid(*, instalment_ids: list[int], batch_id: int) -> int:
    """Called by payroll in the transaction that writes the batch's relief_instalment lines, so an
    instalment is taken into exactly one batch. Returns how many were claimed; an instalment
    already claimed by another batch is left alone (conditional update)."""
    return ReliefInstalment.objects.filter(pk__in=instalment_ids, paid_batch__isnull=True).update(
        paid_batch_id=batch_id, paid_at=timezone.now()
    )

"""Casework writes: enrolments and their dynamic adjustments (动态调整), deaths.

Every change that affects who is paid or how much writes one immutable ``Adjustment`` with the
reason, the effective month and the monthly amount before and after (DOMAIN.md: dynamic
adjustment; a stop always carries a reason the household can be told).
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, MemberMove, Region, User
from beneficiaries.selectors import covers
from beneficiaries.services import check_resident_id
from config.exceptions import Conflict, DomainError
from payments import engine
from payments.selectors import explain_enrolment, facts_for_enrolment

from . import parameters, workflow
from .dates import add_months, add_working_days, first_of_month, next_month
from .models import (
    CLOSED_STATES,
    MEMBER_CATEGORIES,
    Adjustment,
    Application,
    CareLevel,
    CaseState,
    CaseStep,
    Category,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
    ReliefInstalment,
    Review,
    ReviewClass,
    StepAttachment,
)

OPEN_STATUSES = (
    Enrolment.Status.ACTIVE,
    Enrolment.Status.GRADUAL_EXIT,
    Enrolment.Status.SUSPENDED,
)
ZERO = Decimal("0.00")


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
    """停发: nothing is paid from the effective month on; the last month paid is the one before.

    A stop from a later month keeps the status until that month comes (``end_month`` already
    bounds the payments), so a batch computed in between still pays the months before it;
    ``close_ended_enrolments`` then sets the status."""
    return _end(
        enrolment=enrolment,
        kind=Adjustment.Kind.STOP,
        effective_month=effective_month,
        amount_before=monthly_amount(enrolment=enrolment, month=first_of_month(effective_month)),
        reason_code=reason_code,
        reason_text=reason_text,
        by=by,
        approved_by=approved_by,
    )


def _end(
    *,
    enrolment: Enrolment,
    kind: str,
    effective_month: datetime.date,
    amount_before: Decimal | None,
    reason_code: str,
    reason_text: str,
    by: User,
    approved_by: User | None = None,
) -> Enrolment:
    enrolment = _locked(enrolment)
    if enrolment.status not in OPEN_STATUSES:
        raise Conflict(_("该保障已停止。"), code="not_open")
    if enrolment.status == Enrolment.Status.ACTIVE and enrolment.end_month is not None:
        raise Conflict(
            str(_("已安排自%(month)s起停发。"))
            % {"month": add_months(enrolment.end_month, 1).strftime("%Y-%m")},
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
    _record(
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
    return enrolment


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
    approved_by: User | None = None,
) -> Enrolment:
    """恢复: a stopped or suspended enrolment is paid again from the effective month.

    An enrolment is one unbroken period of coverage (payments and back pay read its months).
    Resumed from the month after its last paid month (or a stop recorded ahead cancelled), it
    simply goes on; resumed later, the months between were not covered, so the old enrolment
    stays stopped at its last month and the coverage goes on in a new enrolment from the
    effective month, which is returned and carries the RESUME adjustment."""
    enrolment = _locked(enrolment)
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
    if enrolment.status != Enrolment.Status.ACTIVE or enrolment.end_month is not None:
        raise Conflict(_("只有在保且未安排停发的保障才能渐退。"), code="not_active")
    effective_month = first_of_month(effective_month)
    if months is None:
        _facts, household = facts_for_enrolment(enrolment=enrolment, month=effective_month)
        months = engine.gradual_exit_months(
            household, parameters.params(region_code=enrolment.region_code, on=effective_month)
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
    and is otherwise recomputed for the survivors (DOMAIN.md: an overpayment after a death is
    recovered, so the change must not wait for the next review)."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    if not member.is_alive:
        raise Conflict(_("该成员的死亡已登记。"), code="already_dead")
    if died_on > timezone.localdate():
        raise DomainError(_("死亡日期不能晚于今天。"), field="died_on")
    effective = next_month(died_on)
    # The amounts before are those of the effective month computed while the member counts.
    household_enrolments = _open_household_enrolments(member.household_id)
    own_enrolments = list(Enrolment.objects.filter(member=member, status__in=OPEN_STATUSES))
    befores = {
        e.pk: monthly_amount(enrolment=e, month=effective)
        for e in household_enrolments + own_enrolments
    }
    member.is_alive = False
    member.death_date = died_on
    member.save(update_fields=["is_alive", "death_date", "updated_at"])
    reason = str(_("成员死亡(%(date)s)")) % {"date": died_on.isoformat()}
    for enrolment in own_enrolments:
        _end(
            enrolment=enrolment,
            kind=Adjustment.Kind.STOP,
            effective_month=effective,
            amount_before=befores[enrolment.pk],
            reason_code="death",
            reason_text=f"{member.name} {reason}",
            by=by,
        )
    _household_changed(
        enrolments=household_enrolments,
        household_id=member.household_id,
        befores=befores,
        effective_month=effective,
        reason_code="death",
        reason_text=f"{member.name} {reason}",
        by=by,
    )
    return member


def _household_changed(
    *,
    enrolments: list[Enrolment],
    household_id: int,
    befores: dict[int, Decimal | None],
    effective_month: datetime.date,
    reason_code: str,
    reason_text: str,
    by: User,
) -> None:
    """A member died, left or joined: each household enrolment stops when no living member is
    left, and is otherwise recorded with its recomputed amount (an increase or a decrease, as the
    engine finds: when the member who died or left had the income, the others' gap grows)."""
    left = Member.objects.filter(household=household_id, is_active=True, is_alive=True)
    for enrolment in enrolments:
        if not left.exists():
            _end(
                enrolment=enrolment,
                kind=Adjustment.Kind.STOP,
                effective_month=effective_month,
                amount_before=befores[enrolment.pk],
                reason_code=reason_code,
                reason_text=reason_text,
                by=by,
            )
        elif enrolment.status != Enrolment.Status.SUSPENDED:
            before = befores[enrolment.pk]
            after = monthly_amount(enrolment=enrolment, month=effective_month)
            rises = before is not None and after is not None and after > before
            _record(
                enrolment=enrolment,
                kind=Adjustment.Kind.INCREASE if rises else Adjustment.Kind.DECREASE,
                reason_code=reason_code,
                reason_text=reason_text,
                effective_month=effective_month,
                amount_before=before,
                amount_after=after,
                by=by,
                approved_by=by,
            )


def _open_household_enrolments(household_id: int) -> list[Enrolment]:
    return list(
        Enrolment.objects.filter(
            household=household_id, member__isnull=True, status__in=OPEN_STATUSES
        )
    )


@transaction.atomic
def record_move(*, move: MemberMove, by: User) -> list[Enrolment]:
    """Adjust the enrolments a member's move (``beneficiaries.services.move_member``) affects,
    from the month after the move: the member's own enrolments follow the person (the old one
    ends with a MOVE adjustment, a new one for the new membership starts with a MOVE
    adjustment); both households' enrolments are recomputed. Returns the new enrolments."""
    effective = next_month(move.moved_on)
    last_month = add_months(effective, -1)
    from_member, to_member = move.from_member, move.to_member
    reason = str(_("%(name)s 迁移:%(reason)s")) % {"name": from_member.name, "reason": move.reason}
    reason_code = f"member_move:{move.pk}"
    for household in (from_member.household, to_member.household):
        _require(user=by, roles={User.Role.CASEWORKER}, region_code=household.region_code)
    if Adjustment.objects.filter(reason_code=reason_code).exists():
        raise Conflict(_("该迁移已处理。"), code="move_recorded")
    followed = []
    for old in Enrolment.objects.filter(member=from_member, status__in=OPEN_STATUSES):
        review_on = old.next_review_due
        _end(
            enrolment=old,
            kind=Adjustment.Kind.MOVE,
            effective_month=effective,
            # The month of the move still counts the member where they were on its first day.
            amount_before=monthly_amount(enrolment=old, month=last_month),
            reason_code=reason_code,
            reason_text=reason,
            by=by,
            approved_by=by,
        )
        new = Enrolment(
            household=to_member.household,
            member=to_member,
            category=old.category,
            care_level=old.care_level,
            review_class=old.review_class,
            start_month=max(effective, old.start_month),
        )
        new.region_code = to_member.household.region_code
        new.next_review_due = review_on or review_due(enrolment=new, after=effective)
        new.save()
        _record(
            enrolment=new,
            kind=Adjustment.Kind.MOVE,
            reason_code=reason_code,
            reason_text=reason,
            effective_month=new.start_month,
            amount_before=None,
            amount_after=monthly_amount(enrolment=new, month=new.start_month),
            by=by,
            approved_by=by,
        )
        followed.append(new)
    for household_id in (from_member.household_id, to_member.household_id):
        enrolments = _open_household_enrolments(household_id)
        _household_changed(
            enrolments=enrolments,
            household_id=household_id,
            # The month of the move still counts the member where they were on its first day.
            befores={e.pk: monthly_amount(enrolment=e, month=last_month) for e in enrolments},
            effective_month=effective,
            reason_code=reason_code,
            reason_text=reason,
            by=by,
        )
    return followed


def mark_relief_instalments_paid(*, instalment_ids: list[int], batch_id: int) -> int:
    """Called by payroll in the transaction that writes the batch's relief_instalment lines, so an
    instalment is taken into exactly one batch. Returns how many were claimed; an instalment
    already claimed by another batch is left alone (conditional update)."""
    return ReliefInstalment.objects.filter(pk__in=instalment_ids, paid_batch__isnull=True).update(
        paid_batch_id=batch_id, paid_at=timezone.now()
    )


class DuplicateCase(Conflict):
    """The same person already has an open flag or case: it is shown instead of duplicated."""

    def __init__(self, message, *, existing):
        super().__init__(message, code="duplicate")
        self.existing = existing

    def as_data(self) -> dict:
        kind = "referral" if isinstance(self.existing, Referral) else "application"
        status = self.existing.status if kind == "referral" else self.existing.state
        return {
            **super().as_data(),
            "existing": {"type": kind, "id": self.existing.pk, "status": status},
        }


def _require(*, user: User, roles: set[str], region_code: str) -> None:
    if user.role not in roles:
        raise Conflict(_("您的角色不能办理此事项。"), code="role")
    if not covers(user, region_code):
        raise Conflict(_("该事项不在您的辖区内。"), code="scope")


def _open_case_for_person(
    *, id_number: str, name: str, village: Region
) -> Referral | Application | None:
    """An open flag or application for the person: by ID number, or by name and village when the
    ID number is not known."""
    open_referrals = Referral.objects.filter(status=Referral.Status.OPEN)
    open_applications = Application.objects.exclude(state__in=CLOSED_STATES)
    if id_number:
        people = Member.objects.filter(id_number=id_number, is_active=True)
        referral = open_referrals.filter(id_number=id_number).first()
    else:
        people = Member.objects.filter(name=name, household__village=village, is_active=True)
        referral = open_referrals.filter(name=name, village=village).first()
    if referral:
        return referral
    return (
        open_applications.filter(
            Q(member__in=people) | Q(member__isnull=True, household__members__in=people)
        )
        .distinct()
        .first()
    )


@transaction.atomic
def flag_candidate(
    *, name: str, village: Region, reason: str, by: User, id_number: str = "", note: str = ""
) -> Referral:
    """A grid worker flags a person who may need help (主动发现). A flag or case already open for
    the same person is returned in the error, never duplicated."""
    _require(user=by, roles={User.Role.GRID_WORKER}, region_code=village.code)
    if village.level != Region.Level.VILLAGE:
        raise DomainError(_("请选择村/社区。"), field="village")
    if reason not in Referral.Reason.values:
        raise DomainError(_("未知的原因。"), field="reason")
    if id_number:
        id_number = check_resident_id(id_number).number
    existing = _open_case_for_person(id_number=id_number, name=name, village=village)
    if existing is not None:
        raise DuplicateCase(_("此人已有未办结的线索或申请。"), existing=existing)
    return Referral.objects.create(
        name=name, id_number=id_number, village=village, reason=reason, note=note, flagged_by=by
    )


def _claim_referral(*, referral: Referral, by: User, **changes) -> Referral:
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=referral.region_code)
    claimed = Referral.objects.filter(pk=referral.pk, status=Referral.Status.OPEN).update(
        handled_by=by, handled_at=timezone.now(), updated_at=timezone.now(), **changes
    )
    if not claimed:
        raise Conflict(_("该线索已处理。"), code="referral_closed")
    referral.refresh_from_db()
    return referral


@transaction.atomic
def reject_referral(*, referral: Referral, reason: str, by: User) -> Referral:
    """The township caseworker declines a flag; the grid worker sees the reason."""
    if not reason.strip():
        raise DomainError(_("须写明不予受理的理由。"), field="reason")
    return _claim_referral(
        referral=referral, by=by, status=Referral.Status.REJECTED, rejection_reason=reason
    )


@transaction.atomic
def convert_referral(
    *,
    referral: Referral,
    household: Household,
    category: str,
    by: User,
    member: Member | None = None,
    care_level: str = "",
    review_class: str = ReviewClass.STABLE,
    comment: str = "",
) -> Application:
    """The township caseworker turns a flag into an application, linked to it."""
    application = submit_application(
        household=household,
        category=category,
        member=member,
        care_level=care_level,
        review_class=review_class,
        comment=comment or referral.note,
        by=by,
    )
    _claim_referral(
        referral=referral, by=by, status=Referral.Status.CONVERTED, application=application
    )
    return application


def _step_deadline(*, application: Application, component: str) -> datetime.date:
    days = parameters.parameter(
        region_code=application.region_code, component=component, on=timezone.localdate()
    )
    return add_working_days(timezone.localdate(), int(days))


def _record_step(
    *,
    application: Application,
    from_state: str,
    by: User,
    comment: str,
    attachments: Iterable[UploadedFile],
) -> CaseStep:
    step = CaseStep.objects.create(
        application=application,
        from_state=from_state,
        to_state=application.state,
        actor=by,
        comment=comment,
    )
    for upload in attachments:
        StepAttachment.objects.create(step=step, file=upload, name=upload.name[:200])
    return step


@transaction.atomic
def submit_application(
    *,
    household: Household,
    category: str,
    by: User,
    member: Member | None = None,
    care_level: str = "",
    review_class: str = ReviewClass.STABLE,
    comment: str = "",
    attachments: Iterable[UploadedFile] = (),
) -> Application:
    """The township caseworker takes an application. The review opinion is due within the
    working days set by ``casework.review_working_days`` (Jiangsu: 15)."""
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=household.region_code)
    check_coverage(household=household, category=category, member=member, care_level=care_level)
    if review_class not in ReviewClass.values:
        raise DomainError(_("未知的复核类别。"), field="review_class")
    existing = (
        Application.objects.filter(household=household, member=member, category=category)
        .exclude(state__in=CLOSED_STATES)
        .first()
    )
    if existing is not None:
        raise DuplicateCase(_("该对象已有同类别未办结的申请。"), existing=existing)
    application = Application(
        household=household,
        member=member,
        category=category,
        care_level=care_level,
        review_class=review_class,
        submitted_by=by,
        submitted_on=timezone.localdate(),
    )
    application.region_code = household.region_code
    application.step_due = _step_deadline(
        application=application, component="casework.review_working_days"
    )
    application.save()
    _record_step(
        application=application, from_state="", by=by, comment=comment, attachments=attachments
    )
    return application


def _approval_delegated(application: Application) -> bool:
    return bool(
        parameters.parameter(
            region_code=application.region_code,
            component="casework.township_approves",
            on=timezone.localdate(),
        )
    )


def _enter(*, application: Application, target: str, comment: str, by: User) -> None:
    """What entering a step means, beyond the table: deadlines, notice, refusal, enrolment."""
    today = timezone.localdate()
    if target == CaseState.PUBLIC_NOTICE:
        days = parameters.parameter(
            region_code=application.region_code, component="casework.notice_days", on=today
        )
        application.notice_ends = today + datetime.timedelta(days=int(days))
        application.step_due = None
    elif target == CaseState.APPROVAL:
        if today < application.notice_ends:
            raise Conflict(
                str(_("公示期至%(date)s结束,期满后才能报送审批。"))
                % {"date": application.notice_ends.isoformat()},
                code="notice_running",
            )
        application.step_due = _step_deadline(
            application=application, component="casework.decision_working_days"
        )
    elif target in CLOSED_STATES:
        application.step_due = None
    if target in (CaseState.APPROVAL, CaseState.APPROVED):
        if application.objections.filter(resolved_at__isnull=True).exists():
            raise Conflict(_("公示期间的异议尚未核实处理,不能审批。"), code="open_objection")
    if target == CaseState.REFUSED:
        if not comment.strip():
            raise DomainError(_("不予批准须写明理由。"), field="comment")
        application.refusal_reason = comment
    if target == CaseState.APPROVED:
        application.enrolment = enrol(
            household=application.household,
            member=application.member,
            category=application.category,
            care_level=application.care_level,
            review_class=application.review_class,
            start_month=next_month(today),
            reason_code="application_approved",
            reason_text=str(_("申请 #%(id)s 审批通过")) % {"id": application.pk},
            by=application.submitted_by,
            approved_by=by,
        )


@transaction.atomic
def move_application(
    *,
    application: Application,
    to: str,
    by: User,
    comment: str = "",
    attachments: Iterable[UploadedFile] = (),
) -> Application:
    """The one function that moves a case: the move must be in ``workflow.MOVES`` for the user's
    role, and each move is recorded as a ``CaseStep`` with its comment and attachments.
    Approval enrols from the month after (DOMAIN.md: payment from the month after approval)."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if not covers(by, application.region_code):
        raise Conflict(_("该申请不在您的辖区内。"), code="scope")
    why_not = workflow.refusal_reason(
        application=application,
        target=to,
        user=by,
        delegated=_approval_delegated(application),
    )
    if why_not:
        raise Conflict(why_not, code="illegal_move")
    source = application.state
    _enter(application=application, target=to, comment=comment, by=by)
    application.state = to
    application.save()
    _record_step(
        application=application,
        from_state=source,
        by=by,
        comment=comment,
        attachments=attachments,
    )
    return application


@transaction.atomic
def raise_objection(
    *, application: Application, content: str, by: User, raised_by_name: str = ""
) -> Objection:
    """Objections are taken while the notice runs (公示期间); each must be resolved."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=application.region_code)
    if application.state != CaseState.PUBLIC_NOTICE:
        raise Conflict(_("只有公示期间才能登记异议。"), code="not_in_notice")
    if not content.strip():
        raise DomainError(_("须写明异议内容。"), field="content")
    return Objection.objects.create(
        application=application, content=content, raised_by_name=raised_by_name, recorded_by=by
    )


@transaction.atomic
def resolve_objection(*, objection: Objection, resolution: str, by: User) -> Objection:
    """Record how an objection was checked and settled."""
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=objection.application.region_code)
    if not resolution.strip():
        raise DomainError(_("须写明核实处理结果。"), field="resolution")
    now = timezone.now()
    resolved = Objection.objects.filter(pk=objection.pk, resolved_at__isnull=True).update(
        resolution=resolution, resolved_by=by, resolved_at=now
    )
    if not resolved:
        raise Conflict(_("该异议已处理。"), code="objection_resolved")
    objection.refresh_from_db()
    return objection


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
    above (``relief_approval_level``). An emergency may be paid first (先行救助) within the
    township's limit: it is approved at once and its documents are due within
    ``casework.pay_first_document_days``. A large need may be approved once and paid in stages:
    ``instalments`` are (month, amount) pairs summing to the amount; by default one, this month.
    """
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=household.region_code)
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
    params = parameters.params(region_code=household.region_code, on=today)
    tier = engine.relief_approval_level(amount=amount, params=params)
    if tier is None:
        raise DomainError(_("救助金额超过本地临时救助封顶额,不能审批。"), field="proposed_amount")
    ceiling = engine.relief_ceiling(
        relief_type=RELIEF_CEILING_TYPE.get(cause, engine.RELIEF_OTHER),
        params=params,
        self_paid_cost=Decimal(cost or 0),
    ).amount
    if amount > ceiling:
        raise DomainError(
            str(_("该事由的救助上限为%(ceiling)s元。")) % {"ceiling": ceiling},
            field="proposed_amount",
        )
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
        if kind != ReliefCase.Kind.EMERGENCY or tier != ReliefCase.Tier.TOWNSHIP:
            raise DomainError(_("先行救助仅适用于乡镇审批限额内的急难型救助。"), field="pay_first")
        days = parameters.parameter(
            region_code=household.region_code,
            component="casework.pay_first_document_days",
            on=today,
        )
        relief.status = ReliefCase.Status.APPROVED
        relief.decided_by = by
        relief.decided_at = timezone.now()
        relief.documents_due = today + datetime.timedelta(days=int(days))
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


RELIEF_APPROVERS = {
    ReliefCase.Tier.TOWNSHIP: {User.Role.CASEWORKER},
    ReliefCase.Tier.COUNTY: {User.Role.COUNTY_APPROVER},
}


@transaction.atomic
def decide_relief(*, relief: ReliefCase, approve: bool, by: User, reason: str = "") -> ReliefCase:
    """The tier the amount falls in decides: the township caseworker up to the township's limit,
    the county approver above it. A refusal carries a reason the household can be told."""
    _require(user=by, roles=RELIEF_APPROVERS[relief.tier], region_code=relief.region_code)
    if not approve and not reason.strip():
        raise DomainError(_("不予救助须写明理由。"), field="reason")
    decided = ReliefCase.objects.filter(pk=relief.pk, status=ReliefCase.Status.SUBMITTED).update(
        status=ReliefCase.Status.APPROVED if approve else ReliefCase.Status.REFUSED,
        refusal_reason="" if approve else reason,
        decided_by=by,
        decided_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not decided:
        raise Conflict(_("该临时救助已审批。"), code="relief_decided")
    relief.refresh_from_db()
    return relief


@transaction.atomic
def complete_relief_documents(*, relief: ReliefCase, by: User) -> ReliefCase:
    """The documents of a pay-first case (先行救助) have been completed."""
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=relief.region_code)
    completed = ReliefCase.objects.filter(
        pk=relief.pk, pay_first=True, documents_completed_at__isnull=True
    ).update(documents_completed_at=timezone.now(), updated_at=timezone.now())
    if not completed:
        raise Conflict(_("该救助无需补齐材料或已补齐。"), code="documents_complete")
    relief.refresh_from_db()
    return relief


REVIEW_CHANGES = {
    Adjustment.Kind.INCREASE: increase,
    Adjustment.Kind.DECREASE: decrease,
    Adjustment.Kind.STOP: stop,
    Adjustment.Kind.GRADUAL_EXIT: gradual_exit,
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
    """A periodic review (定期复核) confirms the enrolment (a REVIEW_CONFIRMED adjustment) or opens
    one change (increase, decrease, stop, gradual exit) with the review's note as its reason. The
    next review is scheduled by the enrolment's class (DOMAIN.md: stable yearly, able to work
    every 6 months, others as the city sets)."""
    _require(user=by, roles={User.Role.CASEWORKER}, region_code=enrolment.region_code)
    if not note.strip():
        raise DomainError(_("须填写复核意见。"), field="note")
    if change and change not in REVIEW_CHANGES:
        raise DomainError(_("复核只能维持、增发、减发、停发或渐退。"), field="change")
    today = timezone.localdate()
    effective_month = first_of_month(effective_month or next_month(today))
    due_on = enrolment.next_review_due or today
    if change:
        REVIEW_CHANGES[change](
            enrolment=enrolment,
            effective_month=effective_month,
            reason_code=reason_code,
            reason_text=note,
            by=by,
            **change_arguments,
        )
        adjustment = enrolment.adjustments.latest("id")
    else:
        enrolment = _locked(enrolment)
        if enrolment.status not in (Enrolment.Status.ACTIVE, Enrolment.Status.GRADUAL_EXIT):
            raise Conflict(_("该保障不在发放中。"), code="not_in_force")
        amount = monthly_amount(enrolment=enrolment, month=effective_month)
        adjustment = _record(
            enrolment=enrolment,
            kind=Adjustment.Kind.REVIEW_CONFIRMED,
            reason_code=reason_code,
            reason_text=note,
            effective_month=effective_month,
            amount_before=amount,
            amount_after=amount,
            by=by,
            approved_by=by,
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
        reviewed_by=by,
    )

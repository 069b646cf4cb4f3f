"""Registry events casework follows up: a death or a member's move changes, from the next month,
every enrolment it affects (DOMAIN.md: an overpayment after a death is recovered, so the change
must not wait for the next review). The member's own enrolments stop or follow the person; a
household enrolment stops when no living member is left, and is otherwise recomputed.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries import services as registry
from beneficiaries.facts import refresh_household_facts
from beneficiaries.models import Household, Member, MemberMove, User
from casework.models import Adjustment, Enrolment
from casework.services.access import require
from casework.services.enrolments import (
    OPEN_STATUSES,
    end_enrolment,
    monthly_amount,
    record_adjustment,
    review_due,
)
from core.exceptions import Conflict, DomainError
from core.months import add_months, next_month
from core.permissions import REGISTRY_WRITERS


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
    refresh_household_facts(household_ids=[member.household_id])
    reason = str(_("成员死亡(%(date)s)")) % {"date": died_on.isoformat()}
    for enrolment in own_enrolments:
        end_enrolment(
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
            end_enrolment(
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
            record_adjustment(
                enrolment=enrolment,
                kind=Adjustment.Kind.INCREASE if rises else Adjustment.Kind.DECREASE,
                reason_code=reason_code,
                reason_text=reason_text,
                effective_month=effective_month,
                amount_before=before,
                amount_after=after,
                by=by,
                approved_by=None,
            )


def _open_household_enrolments(household_id: int) -> list[Enrolment]:
    return list(
        Enrolment.objects.filter(
            household=household_id, member__isnull=True, status__in=OPEN_STATUSES
        )
    )


@transaction.atomic
def move_member(
    *,
    member: Member,
    to_household: Household,
    moved_on: datetime.date,
    reason: str,
    by: User,
    relation: str = Member.Relation.OTHER,
) -> Member:
    """Move a person to another household and follow the move up, in one transaction: the
    registry move (``beneficiaries.services.move_member``: the old membership ends, a new one
    starts, a ``MemberMove`` records it), then, from the month after the move, every enrolment
    it affects (``_follow_move``). If either part fails, neither is kept. This is the one place a
    move is made (the API's ``/api/member-moves/`` and the admin call it): anything else a move
    must change goes here. Returns the new membership."""
    require(user=by, roles=REGISTRY_WRITERS, region_code=member.household.region_code)
    new_member = registry.move_member(
        member=member,
        to_household=to_household,
        moved_on=moved_on,
        reason=reason,
        by=by,
        relation=relation,
    )
    _follow_move(move=new_member.moved_in, by=by)
    return new_member


def _follow_move(*, move: MemberMove, by: User) -> list[Enrolment]:
    """Adjust the enrolments a member's move affects, from the month after the move: the
    member's own enrolments follow the person (the old one ends with a MOVE adjustment, a new
    one for the new membership starts with a MOVE adjustment); both households' enrolments are
    recomputed. Returns the new enrolments."""
    effective = next_month(move.moved_on)
    last_month = add_months(effective, -1)
    from_member, to_member = move.from_member, move.to_member
    reason = str(_("%(name)s 迁移:%(reason)s")) % {"name": from_member.name, "reason": move.reason}
    reason_code = f"member_move:{move.pk}"
    followed = []
    for old in Enrolment.objects.filter(member=from_member, status__in=OPEN_STATUSES):
        review_on = old.next_review_due
        end_enrolment(
            enrolment=old,
            kind=Adjustment.Kind.MOVE,
            effective_month=effective,
            # The month of the move still counts the member where they were on its first day.
            amount_before=monthly_amount(enrolment=old, month=last_month),
            reason_code=reason_code,
            reason_text=reason,
            by=by,
            approved_by=None,
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
        record_adjustment(
            enrolment=new,
            kind=Adjustment.Kind.MOVE,
            reason_code=reason_code,
            reason_text=reason,
            effective_month=new.start_month,
            amount_before=None,
            amount_after=monthly_amount(enrolment=new, month=new.start_month),
            by=by,
            approved_by=None,
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

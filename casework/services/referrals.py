"""Referrals: a grid worker flags a person who may need help (主动发现); the township caseworker
declines the flag with a reason or turns it into an application. One open flag or case per
person: a second is refused with the first one named, never duplicated.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, Region, User
from beneficiaries.services import check_resident_id, registered_elsewhere_message
from casework.models import CLOSED_STATES, Application, Referral, ReviewClass
from casework.services.access import require
from casework.services.applications import DuplicateCase, submit_application
from core.exceptions import Conflict, DomainError
from core.permissions import visible_id_number
from core.scope import covers


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
    the same person is returned in the error, never duplicated; one outside the grid worker's
    subtree is not theirs to see, so they are told only that the person is registered elsewhere
    (naming the county)."""
    require(user=by, roles={User.Role.GRID_WORKER}, region_code=village.code)
    if village.level != Region.Level.VILLAGE:
        raise DomainError(_("请选择村/社区。"), field="village")
    if reason not in Referral.Reason.values:
        raise DomainError(_("未知的原因。"), field="reason")
    if id_number:
        id_number = check_resident_id(id_number).number
    existing = _open_case_for_person(id_number=id_number, name=name, village=village)
    if existing is not None and not covers(by, existing.region_code):
        raise Conflict(registered_elsewhere_message(existing.region_code), code="elsewhere")
    if existing is not None:
        raise DuplicateCase(_("此人已有未办结的线索或申请。"), existing=existing)
    return Referral.objects.create(
        name=name, id_number=id_number, village=village, reason=reason, note=note, flagged_by=by
    )


def _claim_referral(*, referral: Referral, by: User, **changes) -> Referral:
    require(user=by, roles={User.Role.CASEWORKER}, region_code=referral.region_code)
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


def _check_holds_flagged_person(*, referral: Referral, household: Household, by: User) -> None:
    members = household.members.filter(is_active=True)
    if referral.id_number:
        found = members.filter(id_number=referral.id_number).exists()
        person = f"{referral.name}（{visible_id_number(by, referral.id_number)}）"
    else:
        found = members.filter(name=referral.name.strip()).exists()
        person = referral.name
    if not found:
        message = _("所选家庭中没有被发现的对象 %(person)s，请选择其所在的家庭（或先登记为成员）。")
        raise DomainError(
            str(message) % {"person": person}, field="household", code="person_not_in_household"
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
    """The township caseworker turns a flag into an application, linked to it. The household
    must hold the person who was flagged (by resident ID, or by name when the flag has none):
    a flag turned into another family's case would leave the person flagged unhelped."""
    require(user=by, roles={User.Role.CASEWORKER}, region_code=referral.region_code)
    _check_holds_flagged_person(referral=referral, household=household, by=by)
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

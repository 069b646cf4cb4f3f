"""Referrals: a grid worker flags a person who may need help (主动发现); the township caseworker
declines the flag with a reason or turns it into an application. One open flag or case per
person: a second is refused with the first one named, never duplicated.
"""

import uuid

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
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
from core.uploads import max_upload_bytes

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


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


def photo_extension(photo: UploadedFile) -> str:
    """The file extension of a flag's photo, checked: no larger than the upload limit (from the
    size the upload reports, before it is read) and a picture a phone takes (JPEG, PNG, WebP or
    HEIC, known by its first bytes, whatever its name says)."""
    limit = max_upload_bytes()
    if photo.size > limit:
        raise DomainError(
            _("照片过大(%(size)s)，上限为%(limit)s。")
            % {"size": filesizeformat(photo.size), "limit": filesizeformat(limit)},
            field="photo",
            code="file_too_large",
        )
    photo.seek(0)
    head = photo.read(12)
    photo.seek(0)
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return ".heic"
    raise DomainError(
        _("照片须为JPG、PNG、WebP或HEIC格式的图片。"), field="photo", code="not_a_photo"
    )


def _resent(*, idempotency_key: uuid.UUID, by: User) -> Referral | None:
    """The flag a form with this key already made, when it was this user's."""
    referral = Referral.objects.filter(idempotency_key=idempotency_key).first()
    if referral is not None and referral.flagged_by_id != by.pk:
        raise Conflict(_("此表单已由他人提交，请重新打开上报页面。"), code="key_taken")
    return referral


def _refuse_duplicate(*, existing: Referral | Application, by: User) -> None:
    """The person already has an open flag or case. One inside the grid worker's area is named;
    one of another area is not (its region's records are not theirs to see): the message names
    at most the county, so the grid worker knows whom to call."""
    if covers(by, existing.region_code):
        if isinstance(existing, Referral) and existing.flagged_by_id == by.pk:
            raise DuplicateCase(_("您已上报过此人，该线索仍在处理中。"), existing=existing)
        raise DuplicateCase(_("此人已有未办结的线索或申请。"), existing=existing)
    raise Conflict(registered_elsewhere_message(existing.region_code), code="elsewhere")


@transaction.atomic
def flag_candidate(
    *,
    name: str,
    village: Region,
    reason: str,
    by: User,
    id_number: str = "",
    note: str = "",
    address: str = "",
    photo: UploadedFile | None = None,
    idempotency_key: uuid.UUID | None = None,
) -> Referral:
    """A grid worker flags a person who may need help (主动发现). A flag or case already open for
    the same person is refused, never duplicated; one outside the grid worker's subtree is not
    theirs to see, so they are told only that the person is registered elsewhere (naming the
    county).

    ``idempotency_key`` comes with the form: sent again (the network dropped before the answer
    arrived), it returns the flag the first sending made, whatever the form holds now.
    """
    require(user=by, roles={User.Role.GRID_WORKER}, region_code=village.code)
    if idempotency_key is not None:
        resent = _resent(idempotency_key=idempotency_key, by=by)
        if resent is not None:
            return resent
    if village.level != Region.Level.VILLAGE:
        raise DomainError(_("请选择村/社区。"), field="village")
    if reason not in Referral.Reason.values:
        raise DomainError(_("未知的原因。"), field="reason")
    if id_number:
        id_number = check_resident_id(id_number).number
    extension = photo_extension(photo) if photo is not None else ""
    existing = _open_case_for_person(id_number=id_number, name=name, village=village)
    if existing is not None:
        _refuse_duplicate(existing=existing, by=by)
    referral = Referral(
        name=name,
        id_number=id_number,
        village=village,
        address=address,
        reason=reason,
        note=note,
        flagged_by=by,
        idempotency_key=idempotency_key,
    )
    if photo is not None:
        # Named by the server: a phone's file name says nothing and may be any length.
        referral.photo.save(f"{uuid.uuid4().hex}{extension}", photo, save=False)
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:
        # The same form sent twice at once: the other sending made the flag.
        if idempotency_key is None:
            raise
        referral.photo.delete(save=False)
        return _resent(idempotency_key=idempotency_key, by=by)
    return referral


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

"""Writes to the registry: households, members, income, assets and the moves of people.

Every write goes through here (API, admin, bulk import, seeds), so the rules hold everywhere:

* a resident ID is checked by its check digit (GB 11643) and the birth date and sex are read from
  it, never typed in;
* a person is active in at most one household; the database holds the same rule with
  the partial unique constraint ``one_active_household_per_person``;
* a bank account is checked (digits, length, Luhn for card numbers) before it can be paid into;
* households are registered in villages, inside the acting user's region subtree;
* moving a person is its own recorded action (:class:`MemberMove`), not an edit.

Role checks (who may write at all) belong to the callers' permission layer
(``core.permissions``); the services refuse writes outside the user's subtree whoever
calls them.
"""

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.facts import refresh_household_facts
from beneficiaries.models import (
    FACTS_SINCE,
    Asset,
    Household,
    IncomeItem,
    IncomeType,
    Member,
    MemberCondition,
    MemberMove,
    Region,
    User,
)
from beneficiaries.selectors import CONDITION_FIELDS, active_membership, conditions_in_force
from core.exceptions import Conflict, DomainError
from core.idnumbers import ResidentId, parse_resident_id, validate_bank_account
from core.months import first_of_month
from core.scope import covers

# Member fields a caller may set besides name, ID number and relation. Birth date and sex come
# from the ID; is_alive/death_date belong to casework.services.registry_events.record_death;
# is_active to moves.
MEMBER_ATTRIBUTES = frozenset(
    {
        "disability_category",
        "disability_grade",
        "serious_illness",
        "work_ability",
        "schooling",
        "employment",
    }
)
# The member's facts that are dated by month (MemberCondition): an edit of one takes effect from
# the current month, a caseworker event sets its own month (record_condition).
DATED_ATTRIBUTES = frozenset({"serious_illness", "disability_grade", "disability_category"})
HOUSEHOLD_ATTRIBUTES = frozenset(
    {"address", "hukou_type", "bank_name", "bank_account_holder", "bank_account_number"}
)


def _refuse_outside_scope(*, by: User, region_code: str, field: str) -> None:
    if not covers(by, region_code):
        raise DomainError(_("超出您的管辖区域"), field=field, code="out_of_scope")


def check_choice(value: str, choices, *, field: str) -> str:
    """``value`` if it is one of ``choices`` (a TextChoices), else a DomainError on ``field``."""
    if value not in choices.values:
        raise DomainError(
            _("无效的选项: %(value)s") % {"value": value}, field=field, code="invalid_choice"
        )
    return value


def check_bank_account(number: str) -> str:
    """The account number without spaces, checked (blank is allowed: no account yet)."""
    if not number:
        return ""
    try:
        return validate_bank_account(number)
    except ValidationError as error:
        raise DomainError(error.messages[0], field="bank_account_number", code=error.code)


def _household_label(household: Household) -> str:
    return f"{household} ({household.village.name})"


def registered_elsewhere_message(region_code: str) -> str:
    """What a user is told of a person registered outside their subtree: that much and the
    county, never the household, its address or its case (the record is not theirs to see)."""
    county = Region.objects.filter(code=region_code[:6].ljust(12, "0")).first()
    if county is None:
        return str(_("此人已在其他地区登记，请联系该地区民政部门。"))
    return str(_("此人已在其他地区登记，请联系该地区民政部门（%(county)s）。")) % {
        "county": county.name
    }


def duplicate_person_error(existing: Member, *, by: User) -> DomainError:
    """The refusal of a second active membership: naming the household the person is in when
    ``by`` may see it, only the county otherwise."""
    if covers(by, existing.household.region_code):
        message = _("此人已是家庭 %(household)s 的有效成员, 不能重复登记; 请使用成员迁移") % {
            "household": _household_label(existing.household)
        }
    else:
        message = registered_elsewhere_message(existing.household.region_code)
    return DomainError(message, field="id_number", code="already_registered")


def check_resident_id(id_number: str) -> ResidentId:
    """The parsed resident ID (``idnumbers.parse_resident_id``), or a DomainError on ``id_number``
    with the message saying what is wrong. Every path that takes an ID comes through here."""
    try:
        return parse_resident_id(id_number)
    except ValidationError as error:
        raise DomainError(error.messages[0], field="id_number", code=error.code)


def check_member_attributes(attributes: dict) -> dict:
    """Member attributes checked: known names, valid choices, grade 1–4 with a category."""
    unknown = set(attributes) - MEMBER_ATTRIBUTES
    if unknown:
        raise TypeError(f"member attributes not settable here: {sorted(unknown)}")
    clean = dict(attributes)
    for field, choices in (
        ("disability_category", Member.DisabilityCategory),
        ("work_ability", Member.WorkAbility),
        ("schooling", Member.Schooling),
        ("employment", Member.Employment),
    ):
        if field in clean:
            check_choice(clean[field] or "", choices, field=field)
    grade = clean.get("disability_grade")
    if grade is not None:
        if not (isinstance(grade, int) and 1 <= grade <= 4):
            raise DomainError(_("残疾等级须为1至4级"), field="disability_grade")
        if not clean.get("disability_category"):
            raise DomainError(_("有残疾等级时须填写残疾类别"), field="disability_category")
    return clean


def _save_member(member: Member, *, by: User) -> Member:
    """Save, turning a lost race on the one-active-household constraint into the same message."""
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:
        existing = active_membership(member.id_number)
        if existing is None or existing.pk == member.pk:
            raise
        raise duplicate_person_error(existing, by=by)
    return member


def register_household(
    *,
    village: Region,
    address: str,
    hukou_type: str,
    by: User,
    bank_name: str = "",
    bank_account_holder: str = "",
    bank_account_number: str = "",
) -> Household:
    """Register a household (户) in a village of the user's subtree.

    The village must be a village-level region (households live in villages and communities); the
    bank account, when given, must pass :func:`check_bank_account` (payments go there).
    """
    if village.level != Region.Level.VILLAGE:
        raise DomainError(_("家庭须登记在村/社区一级"), field="village", code="not_a_village")
    _refuse_outside_scope(by=by, region_code=village.code, field="village")
    if not address.strip():
        raise DomainError(_("请填写地址"), field="address", code="required")
    household = Household(
        village=village,
        address=address.strip(),
        hukou_type=check_choice(hukou_type, Household.HukouType, field="hukou_type"),
        bank_name=bank_name.strip(),
        bank_account_holder=bank_account_holder.strip(),
        bank_account_number=check_bank_account(bank_account_number),
    )
    with transaction.atomic():
        household.save()
        # Its facts by month from the start: nobody yet, in every month.
        refresh_household_facts(household_ids=[household.pk])
    return household


def update_household(*, household: Household, by: User, **changes) -> Household:
    """Change a household's address, hukou type or bank account (checked as on registration).

    The village does not change here: a household that moves is a new registration and the
    people move into it (:func:`move_member`).
    """
    unknown = set(changes) - HOUSEHOLD_ATTRIBUTES
    if unknown:
        raise TypeError(f"household fields not settable here: {sorted(unknown)}")
    _refuse_outside_scope(by=by, region_code=household.region_code, field="household")
    if "hukou_type" in changes:
        check_choice(changes["hukou_type"], Household.HukouType, field="hukou_type")
    if "bank_account_number" in changes:
        changes["bank_account_number"] = check_bank_account(changes["bank_account_number"])
    if "address" in changes and not changes["address"].strip():
        raise DomainError(_("请填写地址"), field="address", code="required")
    for field, value in changes.items():
        setattr(household, field, value)
    household.save()
    return household


def add_member(
    *, household: Household, name: str, id_number: str, relation: str, by: User, **attributes
) -> Member:
    """Add a person to an active household.

    The resident ID is checked by its check digit (GB 11643) and gives the birth date and sex. A
    person already active in another household is refused with a message naming that household
    (one person, one active household; moving is :func:`move_member`). A member added
    with relation ``head`` becomes the household's head if it has none; a second head is refused.
    """
    _refuse_outside_scope(by=by, region_code=household.region_code, field="household")
    if household.status != Household.Status.ACTIVE:
        raise Conflict(_("家庭已注销, 不能添加成员"), code="household_closed")
    if not name.strip():
        raise DomainError(_("请填写姓名"), field="name", code="required")
    resident = check_resident_id(id_number)
    check_choice(relation, Member.Relation, field="relation")
    clean = check_member_attributes(attributes)
    existing = active_membership(resident.number)
    if existing is not None:
        raise duplicate_person_error(existing, by=by)
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=household.pk)
        if relation == Member.Relation.HEAD and _has_active_head(household):
            raise DomainError(_("该家庭已有户主"), field="relation", code="head_exists")
        member = _save_member(
            Member(
                household=household,
                name=name.strip(),
                id_number=resident.number,
                birth_date=resident.birth_date,
                sex=resident.sex,
                relation=relation,
                **clean,
            ),
            by=by,
        )
        if relation == Member.Relation.HEAD:
            household.head = member
            household.save(update_fields=["head", "region_code", "updated_at"])
        refresh_household_facts(household_ids=[household.pk])
    return member


def _has_active_head(household: Household) -> bool:
    return household.members.filter(is_active=True, relation=Member.Relation.HEAD).exists()


@transaction.atomic
def update_member(*, member: Member, by: User, **changes) -> Member:
    """Correct a member's name, relation or attributes; a corrected ID is checked like a new one.

    The relation ``head`` is set with :func:`set_head`, which keeps the household's head in step.
    """
    _refuse_outside_scope(by=by, region_code=member.household.region_code, field="member")
    if not member.is_active:
        raise Conflict(_("该成员记录已失效(已迁出), 不能修改"), code="member_inactive")
    name = changes.pop("name", None)
    id_number = changes.pop("id_number", None)
    relation = changes.pop("relation", None)
    # Grade and category are checked together, whichever of them changes.
    current = {
        "disability_category": member.disability_category,
        "disability_grade": member.disability_grade,
    }
    check_member_attributes({**current, **changes})
    if name is not None:
        if not name.strip():
            raise DomainError(_("请填写姓名"), field="name", code="required")
        member.name = name.strip()
    if relation is not None and relation != member.relation:
        check_choice(relation, Member.Relation, field="relation")
        if Member.Relation.HEAD in (relation, member.relation):
            raise DomainError(
                _("请使用设置户主功能变更户主"), field="relation", code="use_set_head"
            )
        member.relation = relation
    if id_number is not None:
        resident = check_resident_id(id_number)
        existing = active_membership(resident.number)
        if existing is not None and existing.pk != member.pk:
            raise duplicate_person_error(existing, by=by)
        member.id_number = resident.number
        member.birth_date = resident.birth_date
        member.sex = resident.sex
    dated = {field: changes.pop(field) for field in DATED_ATTRIBUTES & set(changes)}
    dated = {field: value for field, value in dated.items() if getattr(member, field) != value}
    for field, value in changes.items():
        setattr(member, field, value)
    member = _save_member(member, by=by)
    if dated:
        # Not retroactive: the months before keep the facts they were paid on.
        record_condition(
            member=member,
            effective_month=timezone.localdate(),
            reason=str(_("登记信息修改")),
            by=by,
            **dated,
        )
        member.refresh_from_db()
    else:
        refresh_household_facts(household_ids=[member.household_id])
    return member


@transaction.atomic
def record_condition(
    *,
    member: Member,
    effective_month: datetime.date,
    reason: str,
    by: User,
    **changes,
) -> MemberCondition:
    """Record a change of a member's health facts (serious illness, disability grade and
    category, self-care ability) from a month on: a review, a new disability certificate, a
    diagnosis. Every computation of a month reads the facts in force in that month, so the months
    before keep the facts they had (the first change also records those, from FACTS_SINCE) and a
    later change recorded earlier stays in force from its own month. The Member row shows the
    facts in force now. Facts not given carry over from the month's facts."""
    unknown = set(changes) - set(CONDITION_FIELDS)
    if unknown:
        raise TypeError(f"condition fields not settable here: {sorted(unknown)}")
    _refuse_outside_scope(by=by, region_code=member.household.region_code, field="member")
    if not str(reason).strip():
        raise DomainError(_("须写明依据"), field="reason")
    member = Member.objects.select_for_update().get(pk=member.pk)
    effective_month = first_of_month(effective_month)
    recorded = conditions_in_force(member_ids=[member.pk], month=effective_month).get(member.pk)
    facts = dict(zip(CONDITION_FIELDS, recorded or _member_condition(member), strict=True))
    facts.update(changes)
    check_member_attributes({k: v for k, v in facts.items() if k in DATED_ATTRIBUTES})
    if facts["care_level"]:
        check_choice(facts["care_level"], MemberCondition.CareLevel, field="care_level")
    if not member.conditions.exists() and effective_month > FACTS_SINCE:
        MemberCondition.objects.create(
            member=member,
            effective_month=FACTS_SINCE,
            reason=str(_("此前登记的状况")),
            recorded_by=by,
            **dict(zip(CONDITION_FIELDS, _member_condition(member), strict=True)),
        )
    condition, _created = MemberCondition.objects.update_or_create(
        member=member,
        effective_month=effective_month,
        defaults={**facts, "reason": reason, "recorded_by": by},
    )
    this_month = first_of_month(timezone.localdate())
    now = conditions_in_force(member_ids=[member.pk], month=this_month)[member.pk]
    Member.objects.filter(pk=member.pk).update(
        serious_illness=now[0],
        disability_grade=now[1],
        disability_category=now[2],
        updated_at=timezone.now(),
    )
    refresh_household_facts(household_ids=[member.household_id])
    return condition


def _member_condition(member: Member) -> tuple[bool, int | None, str, str]:
    """The facts on the Member row, as a condition (care level: the enrolment's)."""
    return (member.serious_illness, member.disability_grade, member.disability_category, "")


def set_head(
    *,
    household: Household,
    member: Member,
    by: User,
    previous_head_relation: str = Member.Relation.OTHER,
) -> Household:
    """Make an active member the head of household (户主).

    Relations are stated relative to the head, so the previous head takes
    ``previous_head_relation`` (default: other).
    """
    _refuse_outside_scope(by=by, region_code=household.region_code, field="household")
    if member.household_id != household.pk or not member.is_active:
        raise DomainError(_("户主须为本家庭的有效成员"), field="head", code="not_a_member")
    check_choice(previous_head_relation, Member.Relation, field="previous_head_relation")
    if previous_head_relation == Member.Relation.HEAD:
        raise DomainError(_("原户主须改为其他关系"), field="previous_head_relation")
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=household.pk)
        household.members.filter(is_active=True, relation=Member.Relation.HEAD).exclude(
            pk=member.pk
        ).update(relation=previous_head_relation)
        Member.objects.filter(pk=member.pk).update(relation=Member.Relation.HEAD)
        household.head = member
        household.save(update_fields=["head", "region_code", "updated_at"])
    member.relation = Member.Relation.HEAD
    return household


def check_amount(value, *, field: str) -> Decimal:
    """A non-negative Decimal amount in yuan (fen precision), or a DomainError on ``field``."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("金额格式不正确"), field=field, code="invalid")
    if not amount.is_finite() or amount < 0:
        raise DomainError(_("金额不能为负数"), field=field, code="negative")
    return amount.quantize(Decimal("0.01"))


def check_period(valid_from: datetime.date, valid_to: datetime.date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise DomainError(_("截止日期不能早于起始日期"), field="valid_to", code="period")


def add_income(
    *,
    member: Member,
    type: str,
    monthly_amount: Decimal,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
    by: User,
    note: str = "",
) -> IncomeItem:
    """Record a member's monthly income (or deductible cost) over a period of validity.

    The type is one of DOMAIN.md's counted or exempt incomes (:class:`IncomeType`); the amount is
    a non-negative Decimal; the period ends on or after it starts.
    """
    _refuse_outside_scope(by=by, region_code=member.household.region_code, field="member")
    if not member.is_active:
        raise Conflict(_("该成员记录已失效(已迁出), 不能修改"), code="member_inactive")
    check_choice(type, IncomeType, field="type")
    amount = check_amount(monthly_amount, field="monthly_amount")
    check_period(valid_from, valid_to)
    with transaction.atomic():
        income = IncomeItem.objects.create(
            member=member,
            type=type,
            monthly_amount=amount,
            valid_from=valid_from,
            valid_to=valid_to,
            note=note,
        )
        refresh_household_facts(household_ids=[member.household_id])
    return income


def end_income(*, income: IncomeItem, valid_to: datetime.date, by: User) -> IncomeItem:
    """Close an income item's period (the record stays: past months were assessed with it)."""
    _refuse_outside_scope(by=by, region_code=income.member.household.region_code, field="income")
    check_period(income.valid_from, valid_to)
    income.valid_to = valid_to
    with transaction.atomic():
        income.save(update_fields=["valid_to"])
        refresh_household_facts(household_ids=[income.member.household_id])
    return income


def add_asset(
    *, household: Household, kind: str, value: Decimal, by: User, description: str = ""
) -> Asset:
    """Record a household asset declared or found in the economic check."""
    _refuse_outside_scope(by=by, region_code=household.region_code, field="household")
    check_choice(kind, Asset.Kind, field="kind")
    amount = check_amount(value, field="value")
    return Asset.objects.create(
        household=household, kind=kind, value=amount, description=description
    )


def move_member(
    *,
    member: Member,
    to_household: Household,
    moved_on: datetime.date,
    reason: str,
    by: User,
    relation: str = Member.Relation.OTHER,
) -> Member:
    """Move a person to another household: its own recorded action.

    In one transaction the old membership is deactivated (a conditional update, so two moves of
    the same person cannot both win), a new membership is created in ``to_household`` with the
    person's attributes and their open income items, and a :class:`MemberMove` records who moved
    whom, when and why. The old household loses its head if the person was the head. The user
    must cover both households. Returns the new membership.
    """
    _refuse_outside_scope(by=by, region_code=member.household.region_code, field="member")
    _refuse_outside_scope(by=by, region_code=to_household.region_code, field="to_household")
    check_choice(relation, Member.Relation, field="relation")
    if not reason.strip():
        raise DomainError(_("请填写迁移原因"), field="reason", code="required")
    if to_household.pk == member.household_id:
        raise DomainError(_("不能迁入原家庭"), field="to_household", code="same_household")
    if to_household.status != Household.Status.ACTIVE:
        raise Conflict(_("家庭已注销, 不能添加成员"), code="household_closed")
    if not member.is_alive:
        raise Conflict(_("该成员已死亡, 不能迁移"), code="member_dead")
    with transaction.atomic():
        to_household = Household.objects.select_for_update().get(pk=to_household.pk)
        if relation == Member.Relation.HEAD and _has_active_head(to_household):
            raise DomainError(_("该家庭已有户主"), field="relation", code="head_exists")
        if not Member.objects.filter(pk=member.pk, is_active=True).update(is_active=False):
            raise Conflict(_("该成员记录已失效(已迁出), 不能修改"), code="member_inactive")
        Household.objects.filter(pk=member.household_id, head_id=member.pk).update(head=None)
        new_member = Member.objects.create(
            household=to_household,
            name=member.name,
            id_number=member.id_number,
            birth_date=member.birth_date,
            sex=member.sex,
            relation=relation,
            **{field: getattr(member, field) for field in MEMBER_ATTRIBUTES},
        )
        # Income belongs to the person: it keeps counting in the new household.
        IncomeItem.objects.bulk_create(
            IncomeItem(
                member=new_member,
                type=item.type,
                monthly_amount=item.monthly_amount,
                valid_from=item.valid_from,
                valid_to=item.valid_to,
                note=item.note,
            )
            for item in member.incomes.exclude(valid_to__lt=moved_on)
        )
        if relation == Member.Relation.HEAD:
            to_household.head = new_member
            to_household.save(update_fields=["head", "region_code", "updated_at"])
        MemberMove.objects.create(
            from_member=member,
            to_member=new_member,
            moved_on=moved_on,
            reason=reason.strip(),
            moved_by=by,
        )
        refresh_household_facts(household_ids=[member.household_id, to_household.pk])
    member.is_active = False
    return new_member


def create_user(*, username: str, password: str, role: str, region: Region | None, **extra) -> User:
    """Create a staff user with a role and a region (seeds, and administrators via the admin).

    Role users get ``is_staff`` so they can log in to the admin, where their rights come from
    the role and their region subtree (``beneficiaries.admin.ScopedAdminMixin``), not from
    Django's per-model permissions. Everyone needs a region, superusers too: without one a user
    sees nothing and is refused everywhere (``core.policy``).
    """
    check_choice(role, User.Role, field="role")
    if region is None:
        raise DomainError(_("请选择所属区划"), field="region", code="required")
    return User.objects.create_user(
        username=username, password=password, role=role, region=region, is_staff=True, **extra
    )


@dataclass(frozen=True)
class IncomeEntry:
    """An income of a member being registered (:func:`register_household_with_members`)."""

    type: str
    monthly_amount: Decimal
    valid_from: datetime.date
    valid_to: datetime.date | None = None
    note: str = ""


@dataclass(frozen=True)
class MemberEntry:
    """A member being registered with their household: what :func:`add_member` takes."""

    name: str
    id_number: str
    relation: str
    attributes: dict = dataclasses.field(default_factory=dict)
    incomes: tuple[IncomeEntry, ...] = ()


@dataclass(frozen=True)
class AssetEntry:
    kind: str
    value: Decimal
    description: str = ""


class EntryError(DomainError):
    """A refusal of one entry of a household being registered: ``group`` (members, incomes,
    assets) and ``index`` say which (for an income, ``index`` is its member's and ``item`` its
    place among that member's incomes), ``field`` which of its fields, so a page can show the
    message beside it."""

    def __init__(self, error: DomainError, *, group: str, index: int, item: int = 0):
        super().__init__(error.message, field=error.field, code=error.code)
        self.group = group
        self.index = index
        self.item = item


def register_household_with_members(
    *,
    village: Region,
    address: str,
    hukou_type: str,
    members: Sequence[MemberEntry],
    by: User,
    assets: Sequence[AssetEntry] = (),
    bank_name: str = "",
    bank_account_holder: str = "",
    bank_account_number: str = "",
) -> Household:
    """Register a household with its members, their income and the household's assets at once:
    all of it or nothing, in one transaction.

    Each part goes through the service that registers it alone (:func:`register_household`,
    :func:`add_member`, :func:`add_income`, :func:`add_asset`), so every rule of those holds.
    Besides them: at least one member, exactly one of them the head (户主), and no resident ID
    twice. A refusal of one member, income or asset is an :class:`EntryError` saying which.
    """
    if not members:
        raise DomainError(_("请至少登记一名家庭成员"), code="no_members")
    heads = [i for i, entry in enumerate(members) if entry.relation == Member.Relation.HEAD]
    if len(heads) != 1:
        message = _("须有且仅有一名户主") if heads else _("请指定一名户主")
        index = heads[1] if len(heads) > 1 else 0
        raise EntryError(
            DomainError(message, field="relation", code="one_head"), group="members", index=index
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(members):
        try:
            number = check_resident_id(entry.id_number).number
        except DomainError as error:
            raise EntryError(error, group="members", index=index) from None
        if number in seen:
            raise EntryError(
                DomainError(
                    _("与第%(other)s位成员的身份证号相同") % {"other": seen[number] + 1},
                    field="id_number",
                    code="repeated",
                ),
                group="members",
                index=index,
            )
        seen[number] = index
    # The head first: add_member makes them the household's head.
    order = [heads[0], *(i for i in range(len(members)) if i != heads[0])]
    with transaction.atomic():
        household = register_household(
            village=village,
            address=address,
            hukou_type=hukou_type,
            by=by,
            bank_name=bank_name,
            bank_account_holder=bank_account_holder,
            bank_account_number=bank_account_number,
        )
        for index in order:
            entry = members[index]
            try:
                member = add_member(
                    household=household,
                    name=entry.name,
                    id_number=entry.id_number,
                    relation=entry.relation,
                    by=by,
                    **entry.attributes,
                )
            except DomainError as error:
                raise EntryError(error, group="members", index=index) from None
            for item, income in enumerate(entry.incomes):
                try:
                    add_income(
                        member=member,
                        type=income.type,
                        monthly_amount=income.monthly_amount,
                        valid_from=income.valid_from,
                        valid_to=income.valid_to,
                        note=income.note,
                        by=by,
                    )
                except DomainError as error:
                    raise EntryError(error, group="incomes", index=index, item=item) from None
        for index, asset in enumerate(assets):
            try:
                add_asset(
                    household=household,
                    kind=asset.kind,
                    value=asset.value,
                    description=asset.description,
                    by=by,
                )
            except DomainError as error:
                raise EntryError(error, group="assets", index=index) from None
    return household

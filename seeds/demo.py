"""The demo caseload, written through the registry and casework services so rules and history hold.

The households already on the rolls are drafted like the synthetic caseload (seeds.caseload) and
entered by the province administrator as a migration from the previous system; a few applicant
households of the demo caseworker's township carry applications through the workflow steps.
Deterministic: a fixed reference month and ID slots give the same people on every run, and a
household whose head is already registered is skipped, so a second run creates nothing.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from beneficiaries.models import Household, Member, User
from beneficiaries.services import add_income, add_member, register_household
from casework.models import CaseState, Referral
from casework.services.applications import move_application, submit_application
from casework.services.enrolments import enrol
from casework.services.referrals import flag_candidate
from seeds.caseload import Drafter, HouseholdDraft, IdSlots
from seeds.demo_users import DEMO_USERS
from seeds.regions import city_standard, villages_of

# Fixed, so the demo caseload is the same whenever it is loaded.
DEMO_AS_OF = datetime.date(2026, 1, 1)
DEMO_SEED = 20240701
# Bank-account serials far above the generator's, so demo and synthetic cards never coincide.
DEMO_SERIAL = 900_000_000_000
# Where the demo applications stop: one case at each step up to the public notice (the notice
# then runs 7 days before a case can go to approval), and one refused at the township review.
APPLICATION_PATHS = (
    (),
    (CaseState.HOME_VISIT,),
    (CaseState.HOME_VISIT, CaseState.ECONOMIC_CHECK),
    (CaseState.HOME_VISIT, CaseState.ECONOMIC_CHECK, CaseState.TOWNSHIP_REVIEW),
    (
        CaseState.HOME_VISIT,
        CaseState.ECONOMIC_CHECK,
        CaseState.TOWNSHIP_REVIEW,
        CaseState.PUBLIC_NOTICE,
    ),
    (
        CaseState.HOME_VISIT,
        CaseState.ECONOMIC_CHECK,
        CaseState.TOWNSHIP_REVIEW,
        CaseState.REFUSED,
    ),
)


@dataclass
class DemoResult:
    households: int = 0
    enrolments: int = 0
    applications: int = 0
    referrals: int = 0


def _demo_user(role: str, city_code: str) -> User | None:
    for spec in DEMO_USERS:
        if spec.role == role and spec.region_code.startswith(city_code):
            return User.objects.filter(username=spec.username).first()
    return None


def register_draft(draft: HouseholdDraft, *, by: User) -> tuple[Household, list[Member]]:
    """Enter a drafted household through the registry services (all their checks apply)."""
    household = register_household(
        village=draft.village,
        address=draft.address,
        hukou_type=draft.hukou_type,
        by=by,
        bank_name=draft.bank_name,
        bank_account_holder=draft.bank_account_holder,
        bank_account_number=draft.bank_account_number,
    )
    members = []
    for person in draft.members:
        attributes = {
            "serious_illness": person.serious_illness,
            "work_ability": person.work_ability,
            "schooling": person.schooling,
            "employment": person.employment,
        }
        if person.disability_grade is not None:
            attributes["disability_category"] = person.disability_category
            attributes["disability_grade"] = person.disability_grade
        member = add_member(
            household=household,
            name=person.name,
            id_number=person.id_number,
            relation=person.relation,
            by=by,
            **attributes,
        )
        for type_, amount, valid_from, valid_to in person.incomes:
            add_income(
                member=member,
                type=type_,
                monthly_amount=Decimal(amount),
                valid_from=valid_from,
                valid_to=valid_to,
                by=by,
            )
        members.append(member)
    return household, members


def _already_registered(draft: HouseholdDraft) -> bool:
    return Member.objects.filter(id_number=draft.members[0].id_number, is_active=True).exists()


def load_demo(*, city_code: str, households: int) -> DemoResult:
    """Register ``households`` enrolled households of the city and the demo applications."""
    admin = _demo_user(User.Role.ADMIN, city_code[:2])
    # The migrated enrolments were approved in the previous system; the county approver signs
    # for them here, so that each still has a proposer and a different approver.
    approver = _demo_user(User.Role.COUNTY_APPROVER, city_code)
    if admin is None or approver is None:
        raise LookupError("the demo users are missing: run `manage.py load_seeds` first")
    result = DemoResult()
    drafter = Drafter(
        villages=villages_of(city_code),
        seed=DEMO_SEED,
        as_of=DEMO_AS_OF,
        slots=IdSlots(first_sequence=0, sequences_per_day=100),
        serial=DEMO_SERIAL,
        standard=city_standard(city_code, DEMO_AS_OF),
    )
    for draft in drafter.households(households):
        if _already_registered(draft):
            continue
        with transaction.atomic():
            household, members = register_draft(draft, by=admin)
            for e in draft.enrolments:
                enrol(
                    household=household,
                    category=e.category,
                    start_month=e.start_month,
                    by=admin,
                    approved_by=approver,
                    member=None if e.member_index is None else members[e.member_index],
                    care_level=e.care_level,
                    review_class=e.review_class,
                    reason_code="migrated",
                    reason_text="演示数据: 从原系统迁入的在保对象",
                )
                result.enrolments += 1
        result.households += 1
    caseworker = _demo_user(User.Role.CASEWORKER, city_code)
    if caseworker is not None:
        _load_applications(drafter, caseworker=caseworker, city_code=city_code, result=result)
    return result


def _load_applications(
    drafter: Drafter, *, caseworker: User, city_code: str, result: DemoResult
) -> None:
    """Applicant households of the caseworker's township, each case stopped at one step."""
    drafter.villages = villages_of(caseworker.region.prefix)
    grid_worker = _demo_user(User.Role.GRID_WORKER, city_code)
    for path in APPLICATION_PATHS:
        draft = drafter.household()
        if _already_registered(draft):
            continue
        wanted = draft.enrolments[0]
        with transaction.atomic():
            household, members = register_draft(draft, by=caseworker)
            application = submit_application(
                household=household,
                category=wanted.category,
                by=caseworker,
                member=None if wanted.member_index is None else members[wanted.member_index],
                care_level=wanted.care_level,
                review_class=wanted.review_class,
                comment="演示申请",
            )
            for step in path:
                reason = "家庭人均收入高于低保标准" if step == CaseState.REFUSED else ""
                move_application(application=application, to=step, by=caseworker, comment=reason)
        result.households += 1
        result.applications += 1
    if grid_worker is not None:
        draft = drafter.household()
        person = draft.members[0]
        already = Referral.objects.filter(id_number=person.id_number).exists()
        if not already and not _already_registered(draft):
            flag_candidate(
                name=person.name,
                village=draft.village,
                reason=Referral.Reason.LOST_JOB,
                by=grid_worker,
                id_number=person.id_number,
                note="演示线索: 入户走访发现",
            )
            result.referrals += 1

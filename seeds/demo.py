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
from django.utils import timezone

from beneficiaries.models import Household, IncomeType, Member, Region, User
from beneficiaries.services import add_income, add_member, register_household
from casework.models import Application, CaseState, Category, Referral, ReliefCase
from casework.parameters import parameter
from casework.services.applications import (
    move_application,
    raise_objection,
    submit_application,
)
from casework.services.deadlines import set_deadline
from casework.services.enrolments import (
    decrease,
    enrol,
    gradual_exit,
    increase,
    resume,
    stop,
)
from casework.services.referrals import convert_referral, flag_candidate, reject_referral
from casework.services.temporary_relief import decide_relief, propose_relief
from core.months import add_months, first_of_month
from core.workdays import end_of_week
from payments.batches import compute_batch, create_batch
from payments.models import PaymentBatch
from rules.calendar import deadline
from seeds.caseload import Drafter, HouseholdDraft, IdSlots
from seeds.demo_users import DEMO_USERS
from seeds.regions import city_standard, villages_of

# Fixed, so the demo caseload is the same whenever it is loaded.
DEMO_AS_OF = datetime.date(2026, 1, 1)
DEMO_SEED = 20240701
# Bank-account serials far above the generator's, so demo and synthetic cards never coincide.
DEMO_SERIAL = 900_000_000_000
TO_NOTICE = (
    CaseState.HOME_VISIT,
    CaseState.ECONOMIC_CHECK,
    CaseState.TOWNSHIP_REVIEW,
    CaseState.PUBLIC_NOTICE,
)
# Where the demo applications stop, with what makes each a piece of someone's work: every step,
# two past their notice waiting for the county (one of them late), one whose notice drew an
# objection, one approved (enrolled from next month), one refused, one withdrawn.
APPLICATION_PATHS = (
    ("submitted", ()),
    ("home_visit_overdue", TO_NOTICE[:1]),
    ("economic_check_due_this_week", TO_NOTICE[:2]),
    ("township_review", TO_NOTICE[:3]),
    ("public_notice", TO_NOTICE),
    ("public_notice_objection", TO_NOTICE),
    ("approval", (*TO_NOTICE, CaseState.APPROVAL)),
    ("approval_late", (*TO_NOTICE, CaseState.APPROVAL)),
    ("approved", (*TO_NOTICE, CaseState.APPROVAL, CaseState.APPROVED)),
    ("refused", (*TO_NOTICE[:3], CaseState.REFUSED)),
    ("withdrawn", (CaseState.HOME_VISIT, CaseState.WITHDRAWN)),
)
# Flags of the demo grid worker that became applications, and where those stopped.
FLAG_PATHS = (
    ("flag_converted", (CaseState.HOME_VISIT,)),
    ("flag_visited", TO_NOTICE[:2]),
    ("flag_enrolled", (*TO_NOTICE, CaseState.APPROVAL, CaseState.APPROVED)),
    ("flag_refused", (*TO_NOTICE[:3], CaseState.REFUSED)),
)
REASONS = {
    CaseState.REFUSED: "家庭人均收入高于低保标准",
    CaseState.WITHDRAWN: "申请人已外出务工，主动撤回申请",
}


@dataclass
class DemoResult:
    households: int = 0
    enrolments: int = 0
    applications: int = 0
    referrals: int = 0
    adjustments: int = 0
    relief_cases: int = 0
    batches: int = 0


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
    staff = DemoStaff.of(city_code)
    if staff is not None:
        drafter.villages = villages_of(staff.caseworker.region.prefix)
        _load_applications(drafter, staff=staff, result=result)
        _load_flags(drafter, staff=staff, result=result)
        _load_adjustments(drafter, staff=staff, result=result)
        _load_relief(drafter, staff=staff, result=result)
        _load_batch(staff=staff, city_code=city_code, result=result)
    return result


@dataclass(frozen=True)
class DemoStaff:
    """The demo users of a city who do its day's work. Every change that moves money has two
    signatures: the caseworker proposes, the county approver (or the second finance user, for a
    batch) approves."""

    caseworker: User
    approver: User
    grid_worker: User | None
    finance: User | None

    @classmethod
    def of(cls, city_code: str) -> "DemoStaff | None":
        caseworker = _demo_user(User.Role.CASEWORKER, city_code)
        approver = _demo_user(User.Role.COUNTY_APPROVER, city_code)
        if caseworker is None or approver is None:
            return None
        return cls(
            caseworker=caseworker,
            approver=approver,
            grid_worker=_demo_user(User.Role.GRID_WORKER, city_code),
            finance=_demo_user(User.Role.FINANCE, city_code),
        )


def _since(application: Application, field: str, *, days_ago: int, component: str) -> None:
    """Count a deadline of the case from ``days_ago`` days back, as if it had been opened then.

    The services date every step on the day the demo is loaded; a day's work needs cases whose
    notice has run and steps that are late or due this week, so those deadlines are counted
    again from an earlier day with the same rule (``set_deadline``, the region's parameter).
    """
    today = timezone.localdate()
    days = parameter(region_code=application.region_code, component=component, on=today)
    set_deadline(
        application, field, start=today - datetime.timedelta(days=days_ago), days=int(days)
    )
    application.save()


def _due_this_week(application: Application) -> None:
    """The current step falls due on a working day left in this week (if one is left)."""
    today = timezone.localdate()
    days = int(
        parameter(
            region_code=application.region_code,
            component="casework.review_working_days",
            on=today,
        )
    )
    for back in range(0, 40):
        start = today - datetime.timedelta(days=back)
        due = deadline(start=start, days=days).due
        if today <= due <= end_of_week(today):
            set_deadline(application, "step_due", start=start, days=days)
            application.save()
            return
        if due < today:
            return


def _walk(application: Application, path, *, staff: DemoStaff, key: str) -> Application:
    for step in path:
        if step == CaseState.APPROVAL:
            _since(application, "notice_ends", days_ago=21, component="casework.notice_days")
        by = staff.approver if step == CaseState.APPROVED else staff.caseworker
        application = move_application(
            application=application, to=step, by=by, comment=REASONS.get(step, "")
        )
    if key == "home_visit_overdue":
        _since(application, "step_due", days_ago=40, component="casework.review_working_days")
    elif key == "economic_check_due_this_week":
        _due_this_week(application)
    elif key == "approval_late":
        _since(application, "step_due", days_ago=30, component="casework.decision_working_days")
    elif key == "public_notice_objection":
        raise_objection(
            application=application,
            content="邻居反映该户有一辆营运货车未申报",
            raised_by_name="村民（匿名）",
            by=staff.caseworker,
        )
    return application


def _apply(draft: HouseholdDraft, household: Household, members: list[Member], *, by: User):
    wanted = draft.enrolments[0]
    return submit_application(
        household=household,
        category=wanted.category,
        by=by,
        member=None if wanted.member_index is None else members[wanted.member_index],
        care_level=wanted.care_level,
        review_class=wanted.review_class,
        comment="演示申请",
    )


def _load_applications(drafter: Drafter, *, staff: DemoStaff, result: DemoResult) -> None:
    """Applicant households of the caseworker's township, each case stopped at one step."""
    for key, path in APPLICATION_PATHS:
        draft = drafter.household()
        if _already_registered(draft):
            continue
        with transaction.atomic():
            household, members = register_draft(draft, by=staff.caseworker)
            application = _apply(draft, household, members, by=staff.caseworker)
            _walk(application, path, staff=staff, key=key)
        result.households += 1
        result.applications += 1


def _load_flags(drafter: Drafter, *, staff: DemoStaff, result: DemoResult) -> None:
    """The grid worker's flags: two waiting for the caseworker (one without an ID number), one
    not accepted, and four that became applications (opened, visited, enrolled, refused)."""
    grid = staff.grid_worker
    if grid is None:
        return
    waiting = [drafter.household() for _ in range(3)]
    for index, draft in enumerate(waiting):
        person = draft.members[0]
        id_number = "" if index == 1 else person.id_number
        flagged = Referral.objects.filter(name=person.name, village=draft.village)
        if flagged.exists() or _already_registered(draft):
            continue
        with transaction.atomic():
            referral = flag_candidate(
                name=person.name,
                village=draft.village,
                address=draft.address,
                reason=(Referral.Reason.LOST_JOB, Referral.Reason.OTHER, Referral.Reason.ACCIDENT)[
                    index
                ],
                by=grid,
                id_number=id_number,
                note="演示线索：入户走访发现",
            )
            if index == 2:
                reject_referral(
                    referral=referral,
                    reason="经核实，该户两名子女均有稳定工作，可履行赡养义务",
                    by=staff.caseworker,
                )
        result.referrals += 1
    for key, path in FLAG_PATHS:
        draft = drafter.household()
        if _already_registered(draft):
            continue
        person = draft.members[0]
        with transaction.atomic():
            household, members = register_draft(draft, by=staff.caseworker)
            referral = flag_candidate(
                name=person.name,
                village=draft.village,
                address=draft.address,
                reason=Referral.Reason.SERIOUS_ILLNESS,
                by=grid,
                id_number=person.id_number,
                note="演示线索：长期患病，无固定收入",
            )
            wanted = draft.enrolments[0]
            application = convert_referral(
                referral=referral,
                household=household,
                category=wanted.category,
                member=None if wanted.member_index is None else members[wanted.member_index],
                care_level=wanted.care_level,
                review_class=wanted.review_class,
                by=staff.caseworker,
            )
            _walk(application, path, staff=staff, key=key)
        result.households += 1
        result.referrals += 1
        result.applications += 1


ADJUSTMENT_CASES = ("increase", "decrease", "stop", "resume", "gradual_exit", "review_due")


def _load_adjustments(drafter: Drafter, *, staff: DemoStaff, result: DemoResult) -> None:
    """Households of the township enrolled months ago whose cases changed this month: one of
    each adjustment (增发, 减发, 停发, 恢复, 渐退, besides each one's 新增) for the auditor, and
    one whose periodic review is due."""
    this_month = first_of_month(timezone.localdate())
    signed = {"by": staff.caseworker, "approved_by": staff.approver}
    for case in ADJUSTMENT_CASES:
        draft = drafter.household()
        if _already_registered(draft):
            continue
        with transaction.atomic():
            household, members = register_draft(draft, by=staff.caseworker)
            started = add_months(this_month, -12 if case == "review_due" else -3)
            if case == "increase":  # a wage that ended last month
                add_income(
                    member=members[0],
                    type=IncomeType.WAGES,
                    monthly_amount=Decimal("300.00"),
                    valid_from=started,
                    valid_to=this_month - datetime.timedelta(days=1),
                    by=staff.caseworker,
                    note="临时工，上月已离职",
                )
            enrolment = enrol(
                household=household,
                category=Category.DIBAO,
                start_month=started,
                reason_code="approved",
                reason_text="演示：审批纳入保障",
                **signed,
            )
            result.enrolments += 1
            result.adjustments += 1
            result.adjustments += _change(enrolment, case, members, this_month, signed)
        result.households += 1


def _change(enrolment, case: str, members, this_month: datetime.date, signed: dict) -> int:
    if case == "increase":
        increase(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="income_fell",
            reason_text="家庭成员失业，收入减少",
            **signed,
        )
    elif case == "decrease":
        add_income(
            member=members[0],
            type=IncomeType.WAGES,
            monthly_amount=Decimal("200.00"),
            valid_from=this_month,
            by=signed["by"],
            note="新找到零工",
        )
        decrease(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="income_rose",
            reason_text="家庭成员就业，收入增加",
            **signed,
        )
    elif case == "stop":
        stop(
            enrolment=enrolment,
            effective_month=add_months(this_month, 1),
            reason_code="income",
            reason_text="家庭人均收入超过低保标准",
            **signed,
        )
    elif case == "resume":
        stop(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="missing_documents",
            reason_text="未按期提交复核材料",
            **signed,
        )
        resume(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="documents_complete",
            reason_text="已补齐复核材料",
            **signed,
        )
        return 2
    elif case == "gradual_exit":
        gradual_exit(
            enrolment=enrolment,
            effective_month=this_month,
            reason_code="work_income",
            reason_text="户主就业后收入超过标准，按规定渐退",
            **signed,
        )
    else:
        return 0  # review_due: enrolled a year ago, its yearly review falls due this month
    return 1


# (cause, self-paid cost, amount, approved by the county, need): 1,500 is within the township's
# limit (3 × the standard), 5,000 and 6,000 above it and within the medical ceiling (10 % of the
# cost above 20,000).
RELIEF_CASES = (
    (ReliefCase.Cause.OTHER, None, "1500.00", False, "房屋漏雨，急需修缮"),
    (ReliefCase.Cause.MEDICAL, "60000.00", "5000.00", False, "户主住院手术，自付费用高"),
    (ReliefCase.Cause.MEDICAL, "80000.00", "6000.00", True, "子女白血病化疗，自付费用高"),
)


def _load_relief(drafter: Drafter, *, staff: DemoStaff, result: DemoResult) -> None:
    """Temporary relief of the township: one within the township's limit for the caseworker to
    decide, one above it waiting for the county, one above it approved by the county."""
    for cause, cost, amount, approve, need in RELIEF_CASES:
        draft = drafter.household()
        if _already_registered(draft):
            continue
        with transaction.atomic():
            household, _members = register_draft(draft, by=staff.caseworker)
            relief = propose_relief(
                household=household,
                kind=ReliefCase.Kind.SPENDING_SHOCK,
                cause=cause,
                need=need,
                proposed_amount=Decimal(amount),
                cost=Decimal(cost) if cost else None,
                by=staff.caseworker,
            )
            if approve:
                decide_relief(relief=relief, approve=True, by=staff.approver)
        result.households += 1
        result.relief_cases += 1


def _load_batch(*, staff: DemoStaff, city_code: str, result: DemoResult) -> None:
    """This month's batch of the city, prepared and computed by the finance user: it waits for
    a second finance user's approval (the preparer may not approve it)."""
    if staff.finance is None:
        return
    city = Region.objects.get(code=f"{city_code:0<12}")
    month = first_of_month(timezone.localdate())
    if PaymentBatch.objects.filter(region=city, month=month).exists():
        return
    batch = create_batch(region=city, month=month, by=staff.finance)
    compute_batch(batch=batch, inline=True)
    result.batches += 1

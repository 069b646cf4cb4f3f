import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from casework import selectors, workflow
from casework.models import Adjustment, Application, CaseState, CaseStep, Enrolment
from casework.services import applications
from core.exceptions import Conflict, DomainError
from core.months import next_month

# A Monday in Shanghai, with no public holiday in the following weeks.
MONDAY = datetime.datetime(2025, 3, 3, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
ALL_ROLES = ["caseworker", "grid_worker", "county_approver", "finance", "auditor", "admin"]
ALLOWED = {(m.source, m.target) for m in workflow.MOVES}
FORBIDDEN = [
    (source, target)
    for source in CaseState.values
    for target in CaseState.values
    if (source, target) not in ALLOWED
]
ROLE_DENIALS = [
    (move.source, move.target, role)
    for move in workflow.MOVES
    for role in ALL_ROLES
    if role not in workflow.roles_for(move, delegated=False)
]


@pytest.fixture
def application(household, family, caseworker):
    return applications.submit_application(
        household=household, category="dibao", by=caseworker, comment="本人申请"
    )


def put_in(application, state):
    """Place a case at a step with its notice over, as if it had been carried there."""
    Application.objects.filter(pk=application.pk).update(
        state=state, notice_ends=timezone.localdate() - datetime.timedelta(days=1)
    )
    application.refresh_from_db()
    return application


@pytest.mark.parametrize("move", workflow.MOVES, ids=lambda m: f"{m.source}->{m.target}")
def test_each_allowed_move_is_made_and_recorded(application, user_with_role, move):
    put_in(application, move.source)
    role = sorted(workflow.roles_for(move, delegated=False))[0]
    actor = user_with_role(role)
    applications.move_application(
        application=application, to=move.target, by=actor, comment="意见:符合条件"
    )
    application.refresh_from_db()
    assert application.state == move.target
    step = application.steps.last()
    assert (step.from_state, step.to_state, step.actor) == (move.source, move.target, actor)
    assert step.comment == "意见:符合条件"


@pytest.mark.parametrize("source, target", FORBIDDEN)
def test_each_move_outside_the_table_is_refused_with_the_reason(
    application, caseworker, source, target
):
    put_in(application, source)
    with pytest.raises(Conflict) as error:
        applications.move_application(
            application=application, to=target, by=caseworker, comment="x"
        )
    assert str(CaseState(source).label) in str(error.value)
    application.refresh_from_db()
    assert application.state == source
    assert application.steps.count() == 1
    assert not Enrolment.objects.exists()


@pytest.mark.parametrize("source, target, role", ROLE_DENIALS)
def test_each_role_outside_the_move_is_refused(application, user_with_role, source, target, role):
    put_in(application, source)
    with pytest.raises(Conflict) as error:
        applications.move_application(
            application=application, to=target, by=user_with_role(role), comment="x"
        )
    assert "只能由" in str(error.value)
    application.refresh_from_db()
    assert application.state == source
    assert application.steps.count() == 1


def test_a_caseworker_outside_the_region_cannot_move_the_case(application, other_caseworker):
    with pytest.raises(Conflict):
        applications.move_application(application=application, to="home_visit", by=other_caseworker)
    application.refresh_from_db()
    assert application.state == CaseState.SUBMITTED


def test_the_township_approves_where_the_county_delegated(
    application, caseworker, set_parameter, colleague
):
    put_in(application, CaseState.APPROVAL)
    with pytest.raises(Conflict):
        applications.move_application(application=application, to="approved", by=colleague)
    set_parameter("jingkou", "casework.township_approves", 1)
    applications.move_application(application=application, to="approved", by=colleague)
    application.refresh_from_db()
    assert application.state == CaseState.APPROVED
    adjustment = application.enrolment.adjustments.get()
    assert (adjustment.proposed_by, adjustment.approved_by) == (caseworker, colleague)


def walk_to_notice(application, caseworker):
    for target in ("home_visit", "economic_check", "township_review", "public_notice"):
        applications.move_application(
            application=application, to=target, by=caseworker, comment="ok"
        )
    application.refresh_from_db()
    return application


@time_machine.travel(MONDAY, tick=False)
def test_the_notice_runs_seven_working_days_before_approval(application, caseworker):
    walk_to_notice(application, caseworker)
    assert application.notice_ends == datetime.date(2025, 3, 12)
    with pytest.raises(Conflict) as error:
        applications.move_application(application=application, to="approval", by=caseworker)
    assert application.notice_ends.isoformat() in str(error.value)
    application.refresh_from_db()
    assert application.state == CaseState.PUBLIC_NOTICE


@time_machine.travel(MONDAY, tick=False)
def test_the_notice_period_is_a_parameter(application, caseworker, set_parameter):
    set_parameter("zhenjiang", "casework.notice_days", 5)
    walk_to_notice(application, caseworker)
    assert application.notice_ends == datetime.date(2025, 3, 10)


def test_open_objections_block_approval_until_resolved(application, caseworker, approver):
    walk_to_notice(application, caseworker)
    objection = applications.raise_objection(
        application=application, content="该户有车辆未申报", raised_by_name="邻居", by=caseworker
    )
    put_in(application, CaseState.PUBLIC_NOTICE)
    with pytest.raises(Conflict):
        applications.move_application(application=application, to="approval", by=caseworker)
    put_in(application, CaseState.APPROVAL)
    with pytest.raises(Conflict) as error:
        applications.move_application(application=application, to="approved", by=approver)
    assert "异议" in str(error.value)
    assert not Enrolment.objects.exists()
    applications.resolve_objection(
        objection=objection, resolution="经核实车辆已报废", by=caseworker
    )
    applications.move_application(application=application, to="approved", by=approver)
    application.refresh_from_db()
    assert application.state == CaseState.APPROVED


def test_objections_are_taken_only_during_the_notice(application, caseworker):
    with pytest.raises(Conflict):
        applications.raise_objection(application=application, content="异议", by=caseworker)
    assert not application.objections.exists()


def test_approval_enrols_from_the_next_month_with_an_adjustment(
    household, family, caseworker, approver
):
    application = applications.submit_application(
        household=household,
        category="tekun",
        member=family["head"],
        care_level="partial",
        review_class="other",
        by=caseworker,
    )
    put_in(application, CaseState.APPROVAL)
    applications.move_application(
        application=application, to="approved", by=approver, comment="同意"
    )
    application.refresh_from_db()
    enrolment = application.enrolment
    assert enrolment.start_month == next_month(timezone.localdate())
    assert (enrolment.category, enrolment.member, enrolment.care_level) == (
        "tekun",
        family["head"],
        "partial",
    )
    assert enrolment.review_class == "other"
    (adjustment,) = enrolment.adjustments.all()
    assert adjustment.kind == Adjustment.Kind.NEW
    assert (adjustment.proposed_by, adjustment.approved_by) == (caseworker, approver)


def test_a_refusal_needs_a_reason_the_household_can_be_told(application, approver):
    put_in(application, CaseState.APPROVAL)
    with pytest.raises(DomainError):
        applications.move_application(
            application=application, to="refused", by=approver, comment=""
        )
    application.refresh_from_db()
    assert application.state == CaseState.APPROVAL
    applications.move_application(
        application=application, to="refused", by=approver, comment="人均收入高于标准"
    )
    application.refresh_from_db()
    assert application.refusal_reason == "人均收入高于标准"
    assert not Enrolment.objects.exists()


def test_attachments_are_kept_with_the_step(application, caseworker, media):
    applications.move_application(
        application=application,
        to="home_visit",
        by=caseworker,
        attachments=[SimpleUploadedFile("入户调查表.pdf", b"%PDF-1.4 visit")],
    )
    attachment = CaseStep.objects.get(to_state="home_visit").attachments.get()
    assert attachment.name == "入户调查表.pdf"
    assert attachment.file.read() == b"%PDF-1.4 visit"
    assert str(media) in attachment.file.path


def test_a_second_open_application_is_shown_not_duplicated(application, household, caseworker):
    with pytest.raises(applications.DuplicateCase) as error:
        applications.submit_application(household=household, category="dibao", by=caseworker)
    assert error.value.as_data()["existing"] == {
        "type": "application",
        "id": application.pk,
        "status": "submitted",
    }
    assert Application.objects.count() == 1


@pytest.mark.parametrize(
    ("now", "review_due", "decision_due"),
    [
        # Submitted on a Monday with no holiday ahead: 15 working days are three calendar weeks,
        # the decision's 10 two.
        (MONDAY, datetime.date(2025, 3, 24), datetime.date(2025, 3, 17)),
        # On a Saturday: the count starts on Monday 7 December.
        (
            MONDAY.replace(year=2026, month=12, day=5),
            datetime.date(2026, 12, 25),
            datetime.date(2026, 12, 18),
        ),
    ],
)
def test_review_opinion_and_decision_deadlines_count_working_days(
    household, family, caseworker, now, review_due, decision_due
):
    with time_machine.travel(now, tick=False):
        application = applications.submit_application(
            household=household, category="dibao", by=caseworker
        )
        assert application.step_due == review_due
        put_in(application, CaseState.PUBLIC_NOTICE)
        applications.move_application(application=application, to="approval", by=caseworker)
        application.refresh_from_db()
        assert application.step_due == decision_due


def test_overdue_cases_are_listed(application, household, family, caseworker):
    on_time = applications.submit_application(
        household=household, category="single_dibao", member=family["child"], by=caseworker
    )
    Application.objects.filter(pk=application.pk).update(
        step_due=timezone.localdate() - datetime.timedelta(days=1)
    )
    overdue = list(selectors.overdue_applications(user=caseworker))
    assert overdue == [application]
    assert on_time not in overdue

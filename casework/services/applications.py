"""Applications (申请) from submission to approval or refusal, and the objections taken during
the public notice.

A case moves only through ``move_application``: the move must be in ``workflow.MOVES`` for the
user's role, and each move is recorded as a ``CaseStep`` with its comment and attachments. Step
deadlines are working days set by parameters; approval needs the notice run, every objection
resolved and an approver who took no step of the case, and enrols from the month after (DOMAIN.md:
payment from the month after approval).
"""

from collections.abc import Iterable

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, User
from casework import parameters, workflow
from casework.models import (
    CLOSED_STATES,
    Application,
    CaseState,
    CaseStep,
    Objection,
    Referral,
    ReviewClass,
    StepAttachment,
)
from casework.services.access import require
from casework.services.changes import approver_roles, require_second_signature
from casework.services.deadlines import clear_deadline, deadline_text, set_deadline
from casework.services.enrolments import check_coverage, enrol
from core.exceptions import Conflict, DomainError
from core.months import next_month
from core.scope import covers, scope


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


def _set_deadline(*, application: Application, field: str, component: str) -> None:
    """``field`` is due the working days ``component`` sets after today."""
    today = timezone.localdate()
    days = parameters.parameter(region_code=application.region_code, component=component, on=today)
    set_deadline(application, field, start=today, days=int(days))


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
    working days set by ``casework.review_working_days`` (Jiangsu: 15). A deadline in a year
    whose calendar is not confirmed is provisional, never a reason to refuse the case."""
    require(user=by, roles={User.Role.CASEWORKER}, region_code=household.region_code)
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
    _set_deadline(
        application=application, field="step_due", component="casework.review_working_days"
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
        _set_deadline(
            application=application, field="notice_ends", component="casework.notice_days"
        )
        clear_deadline(application, "step_due")
    elif target == CaseState.APPROVAL:
        if today < application.notice_ends:
            ends = deadline_text(
                application.notice_ends, provisional=application.notice_ends_provisional
            )
            raise Conflict(
                str(_("公示期至%(date)s结束,期满后才能报送审批。")) % {"date": ends},
                code="notice_running",
            )
        _set_deadline(
            application=application, field="step_due", component="casework.decision_working_days"
        )
    elif target in CLOSED_STATES:
        clear_deadline(application, "step_due")
    if target in (CaseState.APPROVAL, CaseState.APPROVED):
        _require_objections_resolved(application)
    if target == CaseState.REFUSED:
        if not comment.strip():
            raise DomainError(_("不予批准须写明理由。"), field="comment")
        application.refusal_reason = comment
    if target == CaseState.APPROVED:
        _check_second_signature(application=application, by=by)
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


def _require_objections_resolved(application: Application) -> None:
    if application.objections.filter(resolved_at__isnull=True).exists():
        raise Conflict(_("公示期间的异议尚未核实处理,不能审批。"), code="open_objection")


def _require_move(*, application: Application, to: str, by: User) -> None:
    """The case is in the user's region and the table lets the user's role make the move."""
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


DECISIONS = (CaseState.APPROVED, CaseState.REFUSED)


def require_decision(*, application: Application, to: str, by: User) -> None:
    """Whether ``by`` may decide a case in approval (``to``: approved or refused), checked as
    ``move_application`` checks it, without deciding: the region and the table, and to approve,
    every objection resolved and a second signature (``_check_second_signature``). What the
    approver's page asks to offer only the decisions allowed, and to say why not."""
    _require_move(application=application, to=to, by=by)
    if to == CaseState.APPROVED:
        _require_objections_resolved(application)
        _check_second_signature(application=application, by=by)


def _proposers(application: Application) -> set[int]:
    """Who took the case this far: its submitter and whoever moved it through any step."""
    steps = set(application.steps.values_list("actor_id", flat=True))
    return steps | {application.submitted_by_id}


def awaiting_decision(*, user: User) -> QuerySet[Application]:
    """Cases of the subtree in approval that wait for this user's signature: in the regions where
    the user's role approves (``changes.approver_roles``), none of whose steps the user took;
    the earliest deadline first."""
    waiting = scope(Application.objects.filter(state=CaseState.APPROVAL), user=user)
    today = timezone.localdate()
    codes = {
        code
        for code in waiting.order_by().values_list("region_code", flat=True).distinct()
        if user.role in approver_roles(region_code=code, on=today)
    }
    took_part = CaseStep.objects.filter(application=OuterRef("pk"), actor=user)
    return (
        waiting.filter(region_code__in=codes)
        .exclude(submitted_by=user)
        .exclude(Exists(took_part))
        .order_by("step_due", "id")
    )


def _check_second_signature(*, application: Application, by: User) -> None:
    """Approval enrols, so it moves money: the approver is none of the people who took the case
    this far (its submitter and whoever moved it through any step), and a household case needs
    a living member to cover (STYLE.md rule 27)."""
    require_second_signature(
        proposer_ids=_proposers(application),
        by=by,
        region_code=application.region_code,
    )
    members = Member.objects.filter(household=application.household_id, is_active=True)
    if not members.filter(is_alive=True).exists():
        raise Conflict(_("该家庭没有在册的成员,不能批准。"), code="no_member")


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
    _require_move(application=application, to=to, by=by)
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
    require(user=by, roles={User.Role.CASEWORKER}, region_code=application.region_code)
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
    require(user=by, roles={User.Role.CASEWORKER}, region_code=objection.application.region_code)
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

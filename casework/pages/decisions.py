"""The second signature on the pages: what waits for this user's decision in their subtree
(applications in approval, relief cases of the tier their role decides, proposed changes to
enrolments where their role approves), and a decision page for each. A page offers approve and
reject only to a user the service would let decide, and otherwise says why not
(``require_relief_approver``, ``changes.require_approver``, ``applications.require_decision``:
the same checks ``decide_relief``, ``approve_change`` and ``move_application`` make, as the
API's do)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from beneficiaries.readlog import log_read
from casework.models import Application, CaseState, ChangeRequest, ReliefCase
from casework.pages.common import applicant_name, scoped, show_error
from casework.pages.forms import ApplicationDecisionForm, ChangeDecisionForm, ReliefDecisionForm
from casework.services import applications, changes, temporary_relief
from core.exceptions import DomainError
from core.pages import page
from core.roles import Role
from web.components import Column, Pager, Table

# Who signs second: the township caseworker (relief up to the township's limit, changes where
# the county has delegated approval) and the county approver.
APPROVERS = frozenset({Role.CASEWORKER, Role.COUNTY_APPROVER})
PAGE_SIZE = 25


def application_decision_url(application: Application) -> str:
    return reverse("casework:application-decision", args=[application.pk])


def relief_decision_url(relief: ReliefCase) -> str:
    return reverse("casework:relief-decision", args=[relief.pk])


def change_decision_url(change: ChangeRequest) -> str:
    return reverse("casework:change-decision", args=[change.pk])


def _change_amount(change: ChangeRequest):
    return change.amount if change.kind == ChangeRequest.Kind.GRADUAL_EXIT else None


APPLICATION_COLUMNS = [
    Column(_("编号"), "pk", link=application_decision_url),
    Column(_("申请人"), applicant_name, link=application_decision_url),
    Column(_("村/社区"), "household.village.name", wide_only=True),
    Column(_("类别"), "get_category_display"),
    Column(_("公示截止"), "notice_ends", kind="date", wide_only=True),
    Column(_("审批期限"), "step_due", kind="deadline"),
]
RELIEF_COLUMNS = [
    Column(_("编号"), "pk", link=relief_decision_url),
    Column(_("户主"), "household.head.name", link=relief_decision_url),
    Column(_("村/社区"), "household.village.name", wide_only=True),
    Column(_("事由"), "get_cause_display"),
    Column(_("救助金额（元）"), "proposed_amount", kind="money"),
    Column(_("审批层级"), "get_tier_display", wide_only=True),
    Column(_("经办人"), "created_by.username", wide_only=True),
    Column(_("登记时间"), "created_at", kind="datetime", wide_only=True),
]
CHANGE_COLUMNS = [
    Column(_("编号"), "pk", link=change_decision_url),
    Column(_("户主"), "enrolment.household.head.name", link=change_decision_url),
    Column(_("村/社区"), "enrolment.household.village.name", wide_only=True),
    Column(_("调整类型"), "get_kind_display"),
    Column(_("生效月份"), "effective_month", kind="month"),
    Column(_("渐退期金额（元）"), _change_amount, kind="money", wide_only=True),
    Column(_("经办人"), "proposed_by.username", wide_only=True),
]


TABS = {"applications": _("救助申请"), "relief": _("临时救助"), "changes": _("待遇调整")}


@page(roles=APPROVERS)
def decision_list(request):
    """What waits for this user's signature, oldest first: applications in approval, relief
    cases (``?show=relief``) or proposed changes to enrolments (``?show=changes``)."""
    waiting = {
        "applications": applications.awaiting_decision(user=request.user),
        "relief": temporary_relief.awaiting_decision(user=request.user),
        "changes": changes.awaiting_decision(user=request.user),
    }
    show = request.GET.get("show") if request.GET.get("show") in waiting else "applications"
    if show == "applications":
        rows = waiting[show].select_related("household__head", "household__village", "member")
        columns, empty = APPLICATION_COLUMNS, _("没有等待您审批的救助申请。")
    elif show == "changes":
        rows = waiting[show].select_related(
            "enrolment__household__head", "enrolment__household__village", "proposed_by"
        )
        columns, empty = CHANGE_COLUMNS, _("没有等待您审批的待遇调整。")
    else:
        rows = waiting[show].select_related("household__head", "household__village", "created_by")
        columns, empty = RELIEF_COLUMNS, _("没有等待您审批的临时救助。")
    paginator = Paginator(rows, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    log_read(request=request, what=f"decisions.{show}_page_list", rows=len(current))
    return render(
        request,
        "casework/decision_list.html",
        {
            "table": Table(columns, list(current), empty=empty),
            "pager": Pager.for_page(request=request, page=current),
            "count": paginator.count,
            "show": show,
            "tabs": [
                (key, TABS[key], paginator.count if key == show else rows.count())
                for key, rows in waiting.items()
            ],
        },
    )


def _refusal(check, **kwargs) -> str:
    """Why the service would refuse this user the decision ("" when it would not)."""
    try:
        check(**kwargs)
    except DomainError as error:
        return str(error.message)
    return ""


@page(roles=APPROVERS)
def relief_decision(request, pk: int):
    """A relief case, its instalments, and the approver's decision (``decide_relief``)."""
    relief = scoped(
        ReliefCase.objects.select_related(
            "household__head", "household__village", "created_by", "decided_by"
        ),
        user=request.user,
        pk=pk,
    )
    if request.method == "GET":
        log_read(request=request, what="relief.decision_page", household=relief.household, query="")
    form = ReliefDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                temporary_relief.decide_relief(
                    relief=relief,
                    approve=form.cleaned_data["decision"] == "approve",
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                show_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("已审批临时救助 #%(id)s。") % {"id": relief.pk})
                return redirect(relief_decision_url(relief))
    submitted = relief.status == ReliefCase.Status.SUBMITTED
    refusal = (
        _refusal(temporary_relief.require_relief_approver, relief=relief, by=request.user)
        if submitted
        else ""
    )
    instalments = Table(
        [
            Column(_("发放月份"), "due_month", kind="month"),
            Column(_("金额（元）"), "amount", kind="money"),
            Column(_("列入发放时间"), "paid_at", kind="datetime"),
        ],
        list(relief.instalments.all()),
        empty=_("没有分期。"),
    )
    return render(
        request,
        "casework/relief_decision.html",
        {
            "relief": relief,
            "table": instalments,
            "form": form,
            "refusal": refusal,
            "offered": submitted and not refusal,
            "case_url": reverse("casework:relief", args=[relief.pk])
            if request.user.role == Role.CASEWORKER
            else "",
        },
        status=status,
    )


@page(roles=APPROVERS)
def change_decision(request, pk: int):
    """A proposed change to an enrolment and the approver's decision (``approve_change``,
    ``reject_change``)."""
    change = scoped(
        ChangeRequest.objects.select_related(
            "enrolment__household__head",
            "enrolment__household__village",
            "proposed_by",
            "decided_by",
        ),
        user=request.user,
        pk=pk,
    )
    if request.method == "GET":
        household = change.enrolment.household
        log_read(request=request, what="change.decision_page", household=household, query="")
    form = ChangeDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            decide = (
                changes.approve_change
                if form.cleaned_data["decision"] == "approve"
                else changes.reject_change
            )
            try:
                decide(change=change, by=request.user, note=form.cleaned_data["note"])
            except DomainError as error:
                show_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("已审批调整申请 #%(id)s。") % {"id": change.pk})
                return redirect(change_decision_url(change))
    proposed = change.status == ChangeRequest.Status.PROPOSED
    # Rejecting needs the second signature only; approving also the county's signature for a
    # month before the back-pay window.
    reject_refusal = (
        _refusal(
            changes.require_second_signature,
            proposer_ids={change.proposed_by_id},
            by=request.user,
            region_code=change.region_code,
        )
        if proposed
        else ""
    )
    approve_refusal = (
        reject_refusal or _refusal(changes.require_approver, change=change, by=request.user)
        if proposed
        else ""
    )
    return render(
        request,
        "casework/change_decision.html",
        {
            "change": change,
            "form": form,
            "refusal": approve_refusal,
            "may_approve": proposed and not approve_refusal,
            "may_reject": proposed and not reject_refusal,
        },
        status=status,
    )


@page(roles=APPROVERS)
def application_decision(request, pk: int):
    """A case in approval: who it is for, its steps and objections, and the approver's decision
    (``move_application`` to approved or refused)."""
    application = scoped(
        Application.objects.select_related("household__head", "household__village", "member"),
        user=request.user,
        pk=pk,
    )
    if request.method == "GET":
        household = application.household
        log_read(request=request, what="application.decision_page", household=household, query="")
    form = ApplicationDecisionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            to = {"approve": CaseState.APPROVED, "reject": CaseState.REFUSED}
            try:
                applications.move_application(
                    application=application,
                    to=to[form.cleaned_data["decision"]],
                    by=request.user,
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as error:
                show_error(form, error)
                status = error.status_code
            else:
                messages.success(request, _("已审批申请 #%(id)s。") % {"id": application.pk})
                return redirect(application_decision_url(application))
    in_approval = application.state == CaseState.APPROVAL

    def why_not(to: str) -> str:
        if not in_approval:
            return ""
        return _refusal(
            applications.require_decision, application=application, to=to, by=request.user
        )

    approve_refusal, refuse_refusal = why_not(CaseState.APPROVED), why_not(CaseState.REFUSED)
    return render(
        request,
        "casework/application_decision.html",
        {
            "application": application,
            "applicant": applicant_name(application),
            "steps": application.steps.select_related("actor").prefetch_related("attachments"),
            "objections": application.objections.select_related("resolved_by"),
            "form": form,
            "refusal": approve_refusal or refuse_refusal,
            "may_approve": in_approval and not approve_refusal,
            "may_refuse": in_approval and not refuse_refusal,
        },
        status=status,
    )

"""Applications from start to "sent to approval": the list, starting one (directly or from a
grid worker's flag), each step's move with its notes and documents, the public notice's
objections. Approval itself is the approver's, on its decision page (casework.pages.decisions)."""

import mimetypes

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from beneficiaries.readlog import log_read
from casework import workflow
from casework.models import (
    Application,
    CaseState,
    Objection,
    Referral,
    StepAttachment,
)
from casework.pages.common import CASEWORKERS, applicant_name, scoped, show_error
from casework.pages.forms import (
    ApplicationFilter,
    ConvertFlag,
    MoveForm,
    ObjectionForm,
    RejectFlag,
    ResolveForm,
    StartApplication,
    households_holding,
)
from casework.services import applications, referrals
from casework.services.deadlines import deadline_text
from core.exceptions import DomainError
from core.pages import page
from core.scope import scope
from web.components import Column, Pager, Table

PAGE_SIZE = 25

# What each move's button says.
MOVE_BUTTONS = {
    CaseState.HOME_VISIT: _("受理，开始入户调查"),
    CaseState.ECONOMIC_CHECK: _("入户调查完成，转经济状况核对"),
    CaseState.TOWNSHIP_REVIEW: _("核对完成，提交乡镇审核"),
    CaseState.PUBLIC_NOTICE: _("审核通过，开始公示"),
    CaseState.REFUSED: _("不予批准"),
    CaseState.APPROVAL: _("公示期满，报送审批"),
    CaseState.WITHDRAWN: _("撤回申请"),
}
STEP_GUIDE = {
    CaseState.SUBMITTED: _("核对申请材料，受理后开始入户调查。"),
    CaseState.HOME_VISIT: _("到申请人家中了解生活状况，记录调查情况，上传照片和调查记录扫描件。"),
    CaseState.ECONOMIC_CHECK: _("核对家庭收入和财产，记录核对结果，上传核对报告。"),
    CaseState.TOWNSHIP_REVIEW: _("乡镇审核：审核通过的进入公示，不符合条件的写明理由不予批准。"),
    CaseState.PUBLIC_NOTICE: _(
        "公示期间登记并核实处理异议；公示期满、异议处理完毕后报送县级审批。"
    ),
    CaseState.APPROVAL: _("已报送县级审批，等待审批结果。"),
}


def offered_moves(application: Application, user) -> list[str]:
    """The moves the state machine lets this user make from the case's step, approval's own
    decisions left out (they are the county approver's)."""
    if application.state == CaseState.APPROVAL:
        decisions = {CaseState.APPROVED, CaseState.REFUSED}
    else:
        decisions = {CaseState.APPROVED}
    return [
        move.target
        for move in workflow.moves_from(application.state)
        if user.role in move.roles and move.target not in decisions
    ]


def detail_url(application: Application) -> str:
    return reverse("casework:application", args=[application.pk])


# --- the list ------------------------------------------------------------------------------


def _applications(user):
    return scope(
        Application.objects.select_related("household__head", "household__village", "member"),
        user=user,
    )


@page(roles=CASEWORKERS)
def application_list(request):
    """The applications of the user's subtree, newest first, filtered by step and category."""
    filters = ApplicationFilter(request.GET or None)
    queryset = _applications(request.user)
    if filters.is_valid():
        if state := filters.cleaned_data["state"]:
            queryset = queryset.filter(state=state)
        if category := filters.cleaned_data["category"]:
            queryset = queryset.filter(category=category)
        if filters.cleaned_data["mine"]:
            queryset = queryset.filter(submitted_by=request.user)
    paginator = Paginator(queryset.order_by("-id"), PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    table = Table(
        [
            Column(_("编号"), "pk", link=detail_url),
            Column(_("申请人"), applicant_name, link=detail_url),
            Column(_("村/社区"), "household.village.name", wide_only=True),
            Column(_("类别"), "get_category_display"),
            Column(_("环节"), "state", kind="badge", badge_label="get_state_display"),
            Column(_("本环节期限"), "step_due", kind="deadline", wide_only=True),
            Column(_("申请日期"), "submitted_on", kind="date", wide_only=True),
        ],
        list(current),
        empty=_("没有符合条件的申请。"),
    )
    log_read(request=request, what="application.page_list", rows=len(current))
    return render(
        request,
        "casework/application_list.html",
        {
            "filters": filters,
            "table": table,
            "pager": Pager.for_page(request=request, page=current),
            "count": paginator.count,
        },
    )


# --- starting an application -----------------------------------------------------------------


@page(roles=CASEWORKERS)
def application_start(request):
    """An application taken directly for a household (its number, or ``?household=``)."""
    form = StartApplication(
        request.POST or None,
        user=request.user,
        initial={"household": request.GET.get("household", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = applications.submit_application(
                household=form.cleaned_data["household"], by=request.user, **form.case()
            )
        except DomainError as error:
            show_error(form, error)
        else:
            messages.success(request, _("已受理申请 #%(id)s。") % {"id": application.pk})
            return redirect(detail_url(application))
    return render(request, "casework/application_start.html", {"form": form})


FLAG_STATUS = [("", _("全部"))] + Referral.Status.choices


@page(roles=CASEWORKERS)
def flag_list(request):
    """Grid workers' flags in the township, the open ones first asked for."""
    status = request.GET.get("status", Referral.Status.OPEN)
    flags = scope(Referral.objects.select_related("village", "flagged_by"), user=request.user)
    if status in Referral.Status.values:
        flags = flags.filter(status=status)
    paginator = Paginator(flags.order_by("-id"), PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))

    def flag_url(referral: Referral) -> str:
        return reverse("casework:flag", args=[referral.pk])

    table = Table(
        [
            Column(_("姓名"), "name", link=flag_url),
            Column(_("村/社区"), "village.name"),
            Column(_("原因"), "get_reason_display"),
            Column(_("网格员"), "flagged_by.username", wide_only=True),
            Column(_("上报日期"), "created_at", kind="date", wide_only=True),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
        ],
        list(current),
        empty=_("没有符合条件的线索。"),
    )
    log_read(request=request, what="referral.page_list", rows=len(current))
    return render(
        request,
        "casework/flag_list.html",
        {
            "table": table,
            "pager": Pager.for_page(request=request, page=current),
            "count": paginator.count,
            "statuses": FLAG_STATUS,
            "status": status,
        },
    )


@page(roles=CASEWORKERS)
def flag_detail(request, pk: int):
    """A flag, turned into an application for the household holding the person, or declined."""
    referral = scoped(Referral.objects.select_related("village"), user=request.user, pk=pk)
    if request.method == "GET":
        log_read(request=request, what="referral.page", query="")
    convert = ConvertFlag(
        request.POST if request.POST.get("action") == "convert" else None,
        referral=referral,
        user=request.user,
    )
    reject = RejectFlag(request.POST if request.POST.get("action") == "reject" else None)
    status = 200
    if request.method == "POST":
        form = convert if request.POST.get("action") == "convert" else reject
        if form.is_valid():
            try:
                if form is convert:
                    application = referrals.convert_referral(
                        referral=referral,
                        household=form.cleaned_data["household"],
                        by=request.user,
                        **form.case(),
                    )
                else:
                    referrals.reject_referral(
                        referral=referral, reason=form.cleaned_data["reason"], by=request.user
                    )
            except DomainError as error:
                show_error(form, error)
                status = error.status_code
            else:
                if form is convert:
                    messages.success(
                        request, _("线索已转为申请 #%(id)s。") % {"id": application.pk}
                    )
                    return redirect(detail_url(application))
                messages.success(request, _("已不予受理，网格员会看到理由。"))
                return redirect("casework:flag", pk=referral.pk)
        else:
            status = 400
    return render(
        request,
        "casework/flag_detail.html",
        {
            "referral": referral,
            "convert": convert,
            "reject": reject,
            "has_household": households_holding(referral=referral, user=request.user).exists(),
        },
        status=status,
    )


# --- one application --------------------------------------------------------------------------


def _detail(request, application: Application, *, bound=None, status: int = 200):
    """The application's page: what it is, where it stands, its history and the moves offered.
    ``bound`` is the form just posted (name → form) when it is shown again with its errors."""
    bound = bound or {}
    moves = []
    for target in offered_moves(application, request.user):
        moves.append(
            {
                "target": target,
                "button": MOVE_BUTTONS[target],
                "form": bound.get(f"move-{target}") or MoveForm(target=target),
                "danger": target in (CaseState.REFUSED, CaseState.WITHDRAWN),
            }
        )
    objections = list(application.objections.select_related("recorded_by", "resolved_by"))
    for objection in objections:
        objection.form = bound.get(f"resolve-{objection.pk}") or ResolveForm(
            prefix=f"resolve-{objection.pk}"
        )
    steps = application.steps.select_related("actor").prefetch_related("attachments")
    notice = None
    if application.notice_ends:
        notice = {
            "starts": application.notice_ends_from,
            "ends": deadline_text(
                application.notice_ends, provisional=application.notice_ends_provisional
            ),
        }
    return render(
        request,
        "casework/application_detail.html",
        {
            "application": application,
            "applicant": applicant_name(application),
            "members": application.household.members.filter(is_active=True).order_by("id"),
            "guide": STEP_GUIDE.get(application.state, ""),
            "moves": moves,
            "steps": steps,
            "objections": objections,
            "objection_form": bound.get("objection") or ObjectionForm(prefix="objection"),
            "takes_objections": application.state == CaseState.PUBLIC_NOTICE,
            "notice": notice,
            "decided": application.state in (CaseState.APPROVED, CaseState.REFUSED),
        },
        status=status,
    )


def _application(request, pk: int) -> Application:
    return scoped(
        Application.objects.select_related("household__head", "household__village", "member"),
        user=request.user,
        pk=pk,
    )


@page(roles=CASEWORKERS)
def application_detail(request, pk: int):
    application = _application(request, pk)
    log_read(request=request, what="application.page", household=application.household, query="")
    return _detail(request, application)


@page(roles=CASEWORKERS)
@require_POST
def application_move(request, pk: int):
    """One move, made by ``move_application`` (the API's): refused, the page says why."""
    application = _application(request, pk)
    target = request.POST.get("to", "")
    form = MoveForm(request.POST, request.FILES, target=target)
    if not form.is_valid():
        return _detail(request, application, bound={f"move-{target}": form}, status=400)
    try:
        applications.move_application(
            application=application,
            to=target,
            by=request.user,
            comment=form.cleaned_data["comment"],
            attachments=form.cleaned_data.get("attachments", []),
        )
    except DomainError as error:
        show_error(form, error)
        if target not in offered_moves(application, request.user):
            # A move not offered (a stale page, a hand-made request): the reason goes on top.
            messages.error(request, str(error.message))
        return _detail(
            request, application, bound={f"move-{target}": form}, status=error.status_code
        )
    application.refresh_from_db()
    messages.success(
        request,
        _("申请 #%(id)s 已转到「%(state)s」。")
        % {"id": application.pk, "state": application.get_state_display()},
    )
    return redirect(detail_url(application))


@page(roles=CASEWORKERS)
@require_POST
def objection_create(request, pk: int):
    application = _application(request, pk)
    form = ObjectionForm(request.POST, prefix="objection")
    if form.is_valid():
        try:
            applications.raise_objection(
                application=application, by=request.user, **form.cleaned_data
            )
        except DomainError as error:
            show_error(form, error)
            return _detail(
                request, application, bound={"objection": form}, status=error.status_code
            )
        messages.success(request, _("已登记异议，报送审批前须核实处理。"))
        return redirect(detail_url(application))
    return _detail(request, application, bound={"objection": form}, status=400)


@page(roles=CASEWORKERS)
@require_POST
def objection_resolve(request, pk: int):
    objection = scoped(
        Objection.objects.select_related("application"),
        user=request.user,
        pk=pk,
        field="application__region_code",
    )
    application = _application(request, objection.application_id)
    form = ResolveForm(request.POST, prefix=f"resolve-{objection.pk}")
    if form.is_valid():
        try:
            applications.resolve_objection(
                objection=objection, resolution=form.cleaned_data["resolution"], by=request.user
            )
        except DomainError as error:
            show_error(form, error)
            bound = {f"resolve-{objection.pk}": form}
            return _detail(request, application, bound=bound, status=error.status_code)
        messages.success(request, _("异议已核实处理。"))
        return redirect(detail_url(application))
    return _detail(request, application, bound={f"resolve-{objection.pk}": form}, status=400)


# Shown in the browser; any other file (an SVG or HTML page could carry a script) is downloaded.
SHOWN_INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


@page(roles=CASEWORKERS)
def attachment(request, pk: int):
    """A step's photo or scanned document, for the users of its subtree only."""
    document = scoped(
        StepAttachment.objects.select_related("step__application__household"),
        user=request.user,
        pk=pk,
        field="step__application__region_code",
    )
    log_read(
        request=request,
        what="application.attachment",
        household=document.step.application.household,
        query="",
    )
    kind, _encoding = mimetypes.guess_type(document.name)
    return FileResponse(
        document.file.open("rb"),
        filename=document.name,
        as_attachment=kind not in SHOWN_INLINE,
    )

"""Temporary relief (临时救助): open a case and see, as the figures are typed, who approves the
amount and the most its cause allows (``assess_relief``, the computation ``propose_relief``
checks with); pay first (先行救助), instalments, and the documents of a case paid first."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from beneficiaries.models import Household
from beneficiaries.readlog import log_read
from casework.models import ReliefCase
from casework.pages.common import CASEWORKERS, scoped, show_error
from casework.pages.forms import InstalmentFormSet, ReliefForm, instalment_plan
from casework.selectors import relief_documents_overdue
from casework.services import temporary_relief
from core.exceptions import DomainError
from core.pages import page
from core.scope import scope
from rules.selectors import render_explanation
from web.components import Column, Pager, Table

PAGE_SIZE = 25
TIERS = dict(ReliefCase.Tier.choices)


def relief_url(relief: ReliefCase) -> str:
    return reverse("casework:relief", args=[relief.pk])


@page(roles=CASEWORKERS)
def relief_list(request):
    """The relief cases of the subtree; ``?documents=overdue``: pay-first cases whose documents
    are late (``relief_documents_overdue``)."""
    overdue = request.GET.get("documents") == "overdue"
    if overdue:
        cases = relief_documents_overdue(user=request.user)
    else:
        cases = scope(ReliefCase.objects.all(), user=request.user).order_by("-id")
        if request.GET.get("status") in ReliefCase.Status.values:
            cases = cases.filter(status=request.GET["status"])
    paginator = Paginator(cases.select_related("household__head", "household__village"), PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    table = Table(
        [
            Column(_("编号"), "pk", link=relief_url),
            Column(_("户主"), "household.head.name", link=relief_url),
            Column(_("村/社区"), "household.village.name", wide_only=True),
            Column(_("事由"), "get_cause_display"),
            Column(_("救助金额（元）"), "proposed_amount", kind="money"),
            Column(_("审批层级"), "get_tier_display", wide_only=True),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
            Column(_("补齐材料期限"), "documents_due", kind="deadline", wide_only=True),
        ],
        list(current),
        empty=_("没有符合条件的临时救助。"),
    )
    log_read(request=request, what="relief.page_list", rows=len(current))
    return render(
        request,
        "casework/relief_list.html",
        {
            "table": table,
            "pager": Pager.for_page(request=request, page=current),
            "count": paginator.count,
            "overdue": overdue,
            "statuses": ReliefCase.Status.choices,
            "status": request.GET.get("status", ""),
        },
    )


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and 0 <= number < Decimal("1e9") else None


def assessment_of(request, data) -> dict | None:
    """The tier and ceiling of the figures typed so far, in words; None until an amount is."""
    amount = _decimal(data.get("proposed_amount", ""))
    if amount is None or amount <= 0:
        return None
    household = None
    number = data.get("household", "")
    if str(number).isdigit():
        household = scope(Household.objects.all(), user=request.user).filter(pk=number).first()
    region = household or request.user.region
    if region is None:
        return None
    region_code = household.region_code if household else region.code
    cause = data.get("cause") or ReliefCase.Cause.OTHER
    if cause not in ReliefCase.Cause.values:
        return None
    assessment = temporary_relief.assess_relief(
        region_code=region_code,
        cause=cause,
        amount=amount,
        cost=_decimal(data.get("cost", "")),
        on=timezone.localdate(),
    )

    def words(result) -> list[dict]:
        return render_explanation(
            amount=result.amount, steps=result.explanation(), versions=result.versions
        )["steps"]

    return {
        "amount": amount,
        "tier": TIERS.get(assessment.tier, ""),
        "tier_value": assessment.tier or "none",
        "ceiling": assessment.ceiling.amount,
        "refusal": assessment.refusal,
        "steps": words(assessment.ceiling) + words(assessment.approval),
    }


@page(roles=CASEWORKERS)
def relief_new(request):
    form = ReliefForm(
        request.POST or None,
        user=request.user,
        initial={"household": request.GET.get("household", "")},
    )
    instalments = InstalmentFormSet(request.POST or None, prefix="instalments")
    instalment_error = ""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and instalments.is_valid():
            data = form.cleaned_data
            try:
                relief = temporary_relief.propose_relief(
                    household=data["household"],
                    kind=data["kind"],
                    cause=data["cause"],
                    need=data["need"],
                    proposed_amount=data["proposed_amount"],
                    cost=data["cost"],
                    pay_first=data["pay_first"],
                    instalments=instalment_plan(instalments),
                    by=request.user,
                )
            except DomainError as error:
                if error.field == "instalments":
                    instalment_error = str(error.message)
                else:
                    show_error(form, error)
            else:
                messages.success(request, _("已登记临时救助 #%(id)s。") % {"id": relief.pk})
                return redirect(relief_url(relief))
    return render(
        request,
        "casework/relief_new.html",
        {
            "form": form,
            "instalments": instalments,
            "instalment_error": instalment_error,
            "assessment": assessment_of(request, request.POST) if request.POST else None,
        },
        status=status,
    )


@page(roles=CASEWORKERS)
@require_POST
def relief_assess(request):
    """The figures typed, assessed (an htmx fragment of the relief form)."""
    return render(
        request,
        "casework/relief_assessment.html",
        {"assessment": assessment_of(request, request.POST)},
    )


@page(roles=CASEWORKERS)
def relief_detail(request, pk: int):
    relief = scoped(
        ReliefCase.objects.select_related("household__head", "household__village"),
        user=request.user,
        pk=pk,
    )
    table = Table(
        [
            Column(_("发放月份"), "due_month", kind="month"),
            Column(_("金额（元）"), "amount", kind="money"),
            Column(_("列入发放时间"), "paid_at", kind="datetime"),
        ],
        list(relief.instalments.all()),
        empty=_("没有分期。"),
    )
    log_read(request=request, what="relief.page", household=relief.household, query="")
    return render(request, "casework/relief_detail.html", {"relief": relief, "table": table})


@page(roles=CASEWORKERS)
@require_POST
def relief_documents(request, pk: int):
    relief = scoped(ReliefCase.objects.all(), user=request.user, pk=pk)
    try:
        temporary_relief.complete_relief_documents(relief=relief, by=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("已记录材料补齐。"))
    return redirect(relief_url(relief))

"""Printed documents, made with WeasyPrint from a template and a print stylesheet (with a CJK
font, fonts-noto-cjk on Debian): the township's public notice (公示) list to post on the village
board, and the decision letter of an application.

A public notice names people only partly (王*明) and never shows a resident ID: it hangs in
the open, and the notice needs no more than the village to tell who is meant.
"""

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Region
from beneficiaries.readlog import log_read
from casework.models import Adjustment, Application, CaseState
from casework.pages.common import CASEWORKERS, applicant_name, scoped
from core.pages import page
from core.scope import scope

PRINT_CSS = "casework/print.css"


def notice_name(name: str) -> str:
    """A name as a public notice shows it: the first and last characters, the rest masked
    (王小明 → 王*明, 欧阳小明 → 欧**明, 王明 → 王*)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def pdf_response(*, template: str, context: dict, filename: str, request) -> HttpResponse:
    # Imported here: WeasyPrint loads Pango when imported, which only printing needs.
    from weasyprint import CSS, HTML

    html = render_to_string(template, context, request=request)
    stylesheet = CSS(filename=finders.find(PRINT_CSS))
    document = HTML(string=html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(
        document.write_pdf(stylesheets=[stylesheet]), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _ancestor(region: Region | None, level: str) -> Region | None:
    while region is not None and region.level != level:
        region = region.parent
    return region


@page(roles=CASEWORKERS)
def notice_pdf(request):
    """The applications of the user's subtree now in their public notice, as a list to post;
    ``?village=`` (a village's id): that village's only, for its board."""
    in_notice = scope(Application.objects.filter(state=CaseState.PUBLIC_NOTICE), user=request.user)
    region = request.user.region
    if request.GET.get("village", "").isdigit():
        region = scoped(
            Region.objects.filter(level=Region.Level.VILLAGE),
            user=request.user,
            pk=int(request.GET["village"]),
            field="code",
        )
        in_notice = in_notice.filter(household__village=region)
    in_notice = (
        in_notice.select_related("household__head", "household__village", "member")
        .annotate(size=Count("household__members", filter=Q(household__members__is_active=True)))
        .order_by("household__village__code", "notice_ends", "id")
    )
    rows = [
        {
            "village": application.household.village.name,
            "name": notice_name(applicant_name(application)),
            "size": 1 if application.member_id else application.size,
            "category": application.get_category_display(),
            "starts": application.notice_ends_from,
            "ends": application.notice_ends,
            "provisional": application.notice_ends_provisional,
        }
        for application in in_notice
    ]
    log_read(request=request, what="application.notice_pdf", rows=len(rows))
    return pdf_response(
        template="casework/print/notice.html",
        context={"rows": rows, "region": region, "today": timezone.localdate()},
        filename="notice.pdf",
        request=request,
    )


@page(roles=CASEWORKERS)
def decision_pdf(request, pk: int):
    """The decision letter of an approved or refused application, to hand to the household."""
    application = scoped(
        Application.objects.select_related(
            "household__head", "household__village__parent__parent", "member", "enrolment"
        ),
        user=request.user,
        pk=pk,
    )
    if application.state not in (CaseState.APPROVED, CaseState.REFUSED):
        messages.error(request, _("申请尚未审批，还没有决定书。"))
        return redirect("casework:application", pk=application.pk)
    enrolment = application.enrolment
    new = (
        enrolment.adjustments.filter(kind=Adjustment.Kind.NEW).order_by("id").first()
        if enrolment
        else None
    )
    decided = application.steps.order_by("-id").first()
    log_read(
        request=request,
        what="application.decision_pdf",
        household=application.household,
        query="",
    )
    county = _ancestor(application.household.village, Region.Level.COUNTY)
    return pdf_response(
        template="casework/print/decision.html",
        context={
            "application": application,
            "applicant": applicant_name(application),
            "enrolment": enrolment,
            "amount": new.amount_after if new else None,
            "decided_on": timezone.localdate(decided.at) if decided else None,
            "county": county,
        },
        filename=f"decision-{application.pk}.pdf",
        request=request,
    )

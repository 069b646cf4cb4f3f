"""Deadlines: the caseworker's steps past their deadline and those falling due this week (each
counted in working days with the public holidays of the calendar) and the periodic reviews
falling due."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.readlog import log_read
from casework.pages.applications import detail_url
from casework.pages.common import CASEWORKERS, applicant_name
from casework.selectors import (
    applications_due_this_week,
    overdue_applications,
    relief_documents_overdue,
    reviews_due,
)
from core.months import month_end
from core.pages import page
from core.workdays import end_of_week, working_days_between
from rules.calendar import work_calendar
from web.components import Column, Table

# A page of late work: more than this is a sign of something else to fix first.
MOST_SHOWN = 500


@page(roles=CASEWORKERS)
def overdue(request):
    """Open applications of the subtree whose step is past its deadline, latest first, with
    the working days they are late."""
    today = timezone.localdate()
    late = overdue_applications(user=request.user, today=today).select_related(
        "household__head", "household__village", "member"
    )
    count = late.count()
    rows = list(late[:MOST_SHOWN])
    if rows:
        calendar = work_calendar(first_year=rows[0].step_due.year, last_year=today.year)
        for application in rows:
            application.days_late = working_days_between(application.step_due, today, calendar)
    table = Table(
        [
            Column(_("编号"), "pk", link=detail_url),
            Column(_("申请人"), applicant_name, link=detail_url),
            Column(_("村/社区"), "household.village.name", wide_only=True),
            Column(_("环节"), "state", kind="badge", badge_label="get_state_display"),
            Column(_("期限"), "step_due", kind="deadline"),
            Column(_("超期工作日"), "days_late", kind="count"),
        ],
        rows,
        empty=_("没有超期的办理环节。"),
    )
    log_read(request=request, what="application.overdue_page", rows=len(rows))
    return render(
        request,
        "casework/overdue.html",
        {
            "table": table,
            "count": count,
            "cut": count > MOST_SHOWN,
            "documents_late": relief_documents_overdue(user=request.user, today=today).count(),
            "today": today,
        },
    )


@page(roles=CASEWORKERS)
def due_this_week(request):
    """Open applications of the subtree whose step falls due from today to Sunday, soonest
    first, with the working days left (0: due today)."""
    today = timezone.localdate()
    due = applications_due_this_week(user=request.user, today=today).select_related(
        "household__head", "household__village", "member"
    )
    count = due.count()
    rows = list(due[:MOST_SHOWN])
    if rows:
        calendar = work_calendar(first_year=today.year, last_year=rows[-1].step_due.year)
        for application in rows:
            application.days_left = working_days_between(today, application.step_due, calendar)
    table = Table(
        [
            Column(_("编号"), "pk", link=detail_url),
            Column(_("申请人"), applicant_name, link=detail_url),
            Column(_("村/社区"), "household.village.name", wide_only=True),
            Column(_("环节"), "state", kind="badge", badge_label="get_state_display"),
            Column(_("期限"), "step_due", kind="deadline"),
            Column(_("剩余工作日"), "days_left", kind="count"),
        ],
        rows,
        empty=_("本周没有到期的办理环节。"),
    )
    return render(
        request,
        "casework/due_this_week.html",
        {
            "table": table,
            "count": count,
            "cut": count > MOST_SHOWN,
            "today": today,
            "week_end": end_of_week(today),
        },
    )


REVIEW_UNTIL = {"today": _("已到复核日期"), "month": _("本月底前到期（含已到期）")}


@page(roles=CASEWORKERS)
def reviews(request):
    """Enrolments whose periodic review falls due by today or by the month's end."""
    today = timezone.localdate()
    until = request.GET.get("until", "month")
    if until not in REVIEW_UNTIL:
        until = "month"
    due = reviews_due(user=request.user, on=today if until == "today" else month_end(today))
    due = due.select_related("household__head", "household__village", "member")
    count = due.count()

    shown = list(due[:MOST_SHOWN])
    log_read(request=request, what="enrolment.reviews_due_page", rows=len(shown))
    table = Table(
        [
            Column(_("户主"), "household.head.name"),
            Column(_("村/社区"), "household.village.name", wide_only=True),
            Column(_("类别"), "get_category_display"),
            Column(_("复核类别"), "get_review_class_display", wide_only=True),
            Column(_("应复核日期"), "next_review_due", kind="deadline"),
        ],
        shown,
        empty=_("没有到期的复核。"),
    )
    return render(
        request,
        "casework/reviews_due.html",
        {
            "table": table,
            "count": count,
            "cut": count > MOST_SHOWN,
            "until": until,
            "choices": REVIEW_UNTIL.items(),
        },
    )

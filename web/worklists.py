"""Each role's home worklist: what is waiting for the signed-in user, counted in their subtree.

Every count is read through the region scope (``core.scope.scope``) or a casework
selector that applies it, with one grouped query per section. A count links to the list where
that work is, with the same filter, so the list shows exactly the number on the home page;
where no page or API list shows that set yet, the count is plain text (``url`` is "").
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count as Counted
from django.db.models import QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from casework.flags import FLAG_OUTCOMES, flag_outcome, flags_of, outcome_of
from casework.models import Adjustment, Application, CaseState, Referral
from casework.selectors import (
    adjustments_for,
    applications_due_this_week,
    overdue_applications,
    relief_documents_overdue,
    reviews_due,
)
from casework.services import changes, temporary_relief
from casework.services.applications import awaiting_decision as applications_awaiting
from casework.workflow import OPEN_STATES
from core.months import add_months, first_of_month, month_end
from core.roles import Role
from core.scope import scope
from payments.models import PaymentBatch
from web.components import Chart, Column, Table

Label = str | Promise


@dataclass(frozen=True)
class Count:
    label: Label
    value: int
    url: str = ""
    # "danger" when the number is work past its deadline and not zero.
    tone: str = ""


@dataclass(frozen=True)
class Section:
    title: Label
    counts: list[Count]
    note: Label = ""


@dataclass(frozen=True)
class Worklist:
    title: Label
    sections: list[Section]
    table_title: Label = ""
    table: Table | None = None
    chart: Chart | None = None
    links: list[tuple[Label, str]] = field(default_factory=list)
    # What the table's rows read in the read log, when they name people (e.g. flagged persons).
    reads: str = ""


def api_url(name: str, *args, **query) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(query)}" if query else url


# A page's list, with its filter as the query: reversed the same way.
page_url = api_url


def grouped(queryset: QuerySet, field_name: str) -> dict[str, int]:
    """How many rows of ``queryset`` have each value of ``field_name`` (one query)."""
    rows = queryset.order_by().values_list(field_name).annotate(n=Counted("pk"))
    return dict(rows)


def _late(value: int) -> str:
    return "danger" if value else ""


# --- township caseworker -------------------------------------------------------------------


def caseworker_worklist(*, user: User, today: datetime.date) -> Worklist:
    applications = scope(Application.objects.all(), user=user)
    by_state = grouped(applications.filter(state__in=OPEN_STATES), "state")
    states = Section(
        _("在办申请（按环节）"),
        [
            Count(
                CaseState(state).label,
                by_state.get(state, 0),
                page_url("casework:applications", state=state),
            )
            for state in OPEN_STATES
        ],
    )
    due_this_week = applications_due_this_week(user=user, today=today).count()
    overdue = overdue_applications(user=user, today=today).count()
    documents_late = relief_documents_overdue(user=user, today=today).count()
    deadlines = Section(
        _("期限"),
        [
            Count(_("本周内到期的办理环节"), due_this_week, page_url("casework:deadlines-week")),
            Count(_("已超期的办理环节"), overdue, page_url("casework:deadlines"), _late(overdue)),
            Count(
                _("先行救助逾期未补齐材料"),
                documents_late,
                page_url("casework:relief-list", documents="overdue"),
                _late(documents_late),
            ),
        ],
    )
    reviews_now = reviews_due(user=user, on=today).count()
    reviews_month = reviews_due(user=user, on=month_end(today)).count()
    reviews = Section(
        _("定期复核"),
        [
            Count(
                _("已到复核日期"),
                reviews_now,
                page_url("casework:reviews-due", until="today"),
                _late(reviews_now),
            ),
            Count(
                _("本月底前到期（含已到期）"),
                reviews_month,
                page_url("casework:reviews-due", until="month"),
            ),
        ],
    )
    open_flags = scope(Referral.objects.filter(status=Referral.Status.OPEN), user=user).count()
    flags = Section(
        _("网格员线索"),
        [Count(_("待处理线索"), open_flags, page_url("casework:flags", status="open"))],
    )
    return Worklist(
        _("乡镇经办工作台"),
        [states, deadlines, reviews, flags, signatures_section(user=user, applications=True)],
    )


def signatures_section(*, user: User, applications: bool) -> Section:
    """What others proposed and waits for this user's signature (the decisions page); with
    ``applications``, the cases in approval too (a caseworker's where the county delegates)."""
    counts = []
    if applications:
        counts.append(
            Count(
                _("救助申请"),
                applications_awaiting(user=user).count(),
                page_url("casework:decisions", show="applications"),
            )
        )
    return Section(
        _("待我审批（第二人审批）"),
        [
            *counts,
            Count(
                _("临时救助"),
                temporary_relief.awaiting_decision(user=user).count(),
                page_url("casework:decisions", show="relief"),
            ),
            Count(
                _("待遇调整"),
                changes.awaiting_decision(user=user).count(),
                page_url("casework:decisions", show="changes"),
            ),
        ],
    )


# --- grid worker -----------------------------------------------------------------------------


def grid_worker_worklist(*, user: User, today: datetime.date) -> Worklist:
    mine = flags_of(user=user)
    outcomes = dict.fromkeys(FLAG_OUTCOMES, 0)
    rows = mine.order_by().values_list("status", "application__state").annotate(n=Counted("pk"))
    for status, state, n in rows:
        outcomes[flag_outcome(status=status, application_state=state)] += n
    flags_url = reverse("grid:flags")
    section = Section(
        _("我上报的线索（按结果）"),
        [
            Count(label, outcomes[key], f"{flags_url}?{urlencode({'outcome': key})}")
            for key, label in FLAG_OUTCOMES.items()
        ],
    )
    recent = mine[:10]
    table = Table(
        [
            Column(_("姓名"), "name", link=lambda r: reverse("grid:flag", args=[r.pk])),
            Column(_("原因"), "get_reason_display"),
            Column(_("村/社区"), "village.name", wide_only=True),
            Column(_("上报日期"), "created_at", kind="date"),
            Column(
                _("结果"),
                outcome_of,
                kind="badge",
                badge_label=lambda r: FLAG_OUTCOMES[outcome_of(r)],
            ),
        ],
        list(recent),
        empty=_("您还没有上报线索。"),
    )
    return Worklist(
        _("网格员工作台"),
        [section],
        _("最近上报的线索"),
        table,
        links=[(_("上报线索"), reverse("grid:flag-new")), (_("我上报的线索"), flags_url)],
        reads="referral.home",
    )


# --- county approver -------------------------------------------------------------------------


def county_approver_worklist(*, user: User, today: datetime.date) -> Worklist:
    waiting = applications_awaiting(user=user)
    late = waiting.filter(step_due__lt=today).count()
    section = Section(
        _("待审批"),
        [
            Count(
                _("待审批的救助申请"),
                waiting.count(),
                page_url("casework:decisions", show="applications"),
            ),
            Count(_("其中已超期"), late, tone=_late(late)),
        ],
    )
    oldest = waiting.select_related("household__village").order_by("step_due", "pk")[:10]
    table = Table(
        [
            Column(_("编号"), "pk", link=lambda a: page_url("casework:application-decision", a.pk)),
            Column(_("类别"), "get_category_display"),
            Column(_("村/社区"), "household.village.name"),
            Column(_("公示截止"), "notice_ends", kind="date", wide_only=True),
            Column(_("审批期限"), "step_due", kind="deadline"),
        ],
        list(oldest),
        empty=_("没有待审批的申请。"),
    )
    return Worklist(
        _("县级审批工作台"),
        [section, signatures_section(user=user, applications=False)],
        _("最早到期的待审批申请"),
        table,
    )


# --- finance ---------------------------------------------------------------------------------


def finance_worklist(*, user: User, today: datetime.date) -> Worklist:
    batches = scope(PaymentBatch.objects.all(), user=user, field="region__code")
    by_status = grouped(batches, "status")
    statuses = Section(
        _("发放批次（按状态）"),
        [
            Count(label, by_status.get(value, 0), api_url("batch-list", status=value))
            for value, label in PaymentBatch.Status.choices
        ],
    )
    # The second signature: a computed batch is approved by a finance user who did not prepare it
    # (a batch the system drafted has no preparer until a finance user submits it).
    computed = batches.filter(status=PaymentBatch.Status.COMPUTED, prepared_by__isnull=False)
    mine = computed.filter(prepared_by=user).count()
    signatures = Section(
        _("待第二人审批"),
        [
            Count(_("待您审批（他人制单）"), computed.count() - mine),
            Count(_("您制单、待他人审批"), mine),
        ],
        note=_("制单人不能审批自己制作的批次。"),
    )
    recent = batches.select_related("region", "prepared_by", "approved_by")[:12]
    table = Table(
        [
            Column(_("月份"), "month", kind="month", link=lambda b: api_url("batch-detail", b.pk)),
            Column(_("地区"), "region.name"),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
            Column(_("笔数"), "line_count", kind="count", wide_only=True),
            Column(_("合计金额（元）"), "total_amount", kind="money"),
            Column(_("制单人"), "prepared_by.username", wide_only=True),
            Column(_("审批人"), "approved_by.username", wide_only=True),
        ],
        list(recent),
        empty=_("还没有发放批次。"),
    )
    return Worklist(_("财务工作台"), [statuses, signatures], _("最近的发放批次"), table)


# --- auditor ---------------------------------------------------------------------------------

RECENT_DAYS = 30
CHART_MONTHS = 6


def auditor_worklist(*, user: User, today: datetime.date) -> Worklist:
    adjustments = adjustments_for(user=user)
    since = today - datetime.timedelta(days=RECENT_DAYS)
    recent_kinds = grouped(adjustments.filter(created_at__date__gt=since), "kind")
    # No list filters adjustments by the day they were registered yet: the counts are plain.
    section = Section(
        _("近30天登记的动态调整（按类型）"),
        [Count(label, recent_kinds.get(kind, 0)) for kind, label in Adjustment.Kind.choices],
    )
    table = Table(
        [
            Column(_("登记时间"), "created_at", kind="datetime"),
            Column(_("类型"), "get_kind_display"),
            Column(_("保障记录"), "enrolment", wide_only=True),
            Column(_("生效月份"), "effective_month", kind="month"),
            Column(_("调整前（元）"), "amount_before", kind="money", wide_only=True),
            Column(_("调整后（元）"), "amount_after", kind="money"),
            Column(_("经办人"), "proposed_by.username", wide_only=True),
            Column(_("审批人"), "approved_by.username", wide_only=True),
        ],
        list(adjustments.order_by("-pk")[:10]),
        empty=_("辖区内还没有动态调整。"),
    )
    return Worklist(
        _("审计工作台"),
        [section],
        _("最近登记的调整"),
        table,
        chart=adjustments_chart(adjustments=adjustments, today=today),
        links=[(_("全部动态调整"), api_url("adjustment-list"))],
    )


def adjustments_chart(*, adjustments: QuerySet[Adjustment], today: datetime.date) -> Chart:
    """Adjustments registered in each of the last six months, by kind, as stacked bars."""
    month = first_of_month(today)
    first = add_months(month, 1 - CHART_MONTHS)
    months = [add_months(first, i) for i in range(CHART_MONTHS)]
    counts = (
        adjustments.filter(created_at__date__gte=first)
        .order_by()
        .annotate(month=TruncMonth("created_at"))
        .values_list("month", "kind")
        .annotate(n=Counted("pk"))
    )
    by_month_kind = {(m.date(), kind): n for m, kind, n in counts}
    series = [
        {
            "name": str(label),
            "type": "bar",
            "stack": "kinds",
            "data": [by_month_kind.get((m, kind), 0) for m in months],
        }
        for kind, label in Adjustment.Kind.choices
        if any(by_month_kind.get((m, kind)) for m in months)
    ]
    total = sum(by_month_kind.values())
    return Chart(
        id="adjustments-by-month",
        title=_("近六个月登记的动态调整"),
        option={
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 40, "right": 16, "top": 40, "bottom": 24},
            "xAxis": {"type": "category", "data": [f"{m:%Y-%m}" for m in months]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": series,
        },
        summary=_("%(first)s 至 %(last)s 共登记 %(total)s 条调整。")
        % {"first": f"{first:%Y-%m}", "last": f"{month:%Y-%m}", "total": total},
        empty=not total,
    )


# --- administrator ---------------------------------------------------------------------------


def admin_worklist(*, user: User, today: datetime.date) -> Worklist:
    users = scope(User.objects.filter(is_active=True), user=user, field="region__code")
    by_role = grouped(users, "role")
    section = Section(
        _("本辖区在用账号（按角色）"),
        [Count(label, by_role.get(role, 0)) for role, label in Role.choices],
    )
    return Worklist(
        _("系统管理工作台"),
        [section],
        links=[(_("进入系统管理"), reverse("admin:index"))],
    )


WORKLISTS: dict[str, Callable[..., Worklist]] = {
    Role.CASEWORKER: caseworker_worklist,
    Role.GRID_WORKER: grid_worker_worklist,
    Role.COUNTY_APPROVER: county_approver_worklist,
    Role.FINANCE: finance_worklist,
    Role.AUDITOR: auditor_worklist,
    Role.ADMIN: admin_worklist,
}


def worklist_for(*, user: User, today: datetime.date | None = None) -> Worklist:
    """The home worklist of the user's role, counted on ``today`` (Asia/Shanghai)."""
    return WORKLISTS[user.role](user=user, today=today or timezone.localdate())

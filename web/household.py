"""What the household's page (一户一档) shows: the registry, casework and payments of one
household, read in a fixed number of queries, and its story as a timeline a person can read.

The timeline is ``casework.selectors.household_timeline`` (flags, application steps,
adjustments, reviews, relief, payment lines and the recorded changes of django-pghistory); a
recorded change is written here with the fields' Chinese names (``verbose_name``), the choices'
labels and the time in Asia/Shanghai.
"""

import datetime
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beneficiaries.models import Asset, Household, IncomeItem, Member
from casework.models import Adjustment, Application, Enrolment, ReliefCase, Review
from casework.selectors import TimelineEntry, household_timeline
from core.months import first_of_month, local_time
from core.permissions import visible_id_number
from payments import explanations
from payments.models import PaymentExplanation, PaymentLine
from web.components import Column, Table

# Fields a change record does not show: keys and bookkeeping that say nothing to a caseworker.
HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at", "region_code"})
TIMELINE_KINDS = {
    "referral": gettext_lazy("网格员发现"),
    "referral_handled": gettext_lazy("发现处理"),
    "application_step": gettext_lazy("申请办理"),
    "objection": gettext_lazy("公示异议"),
    "objection_resolved": gettext_lazy("异议处理"),
    "adjustment": gettext_lazy("动态调整"),
    "review": gettext_lazy("复核"),
    "relief": gettext_lazy("临时救助"),
    "relief_decided": gettext_lazy("临时救助审批"),
    "payment_line": gettext_lazy("发放"),
    "history": gettext_lazy("信息变更"),
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Event:
    """One line of the timeline as shown: when, who, what kind, what happened, what changed."""

    at: datetime.datetime
    kind: str
    actor: str
    summary: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class EnrolmentNow:
    enrolment: Enrolment
    line: PaymentLine | None
    explanation: str


def household_file(*, household: Household, user) -> dict:
    """The context of the household's page."""
    month = first_of_month(timezone.localdate())
    members = list(Member.objects.filter(household=household).order_by("-is_active", "id"))
    names = {member.pk: member.name for member in members}
    incomes = list(
        IncomeItem.objects.filter(member__household=household).order_by("member_id", "id")
    )
    assets = list(Asset.objects.filter(household=household))
    enrolments = list(
        Enrolment.objects.filter(household=household).select_related("member").order_by("-id")
    )
    lines = list(PaymentLine.objects.filter(household=household).order_by("-month", "-id"))
    adjustments = list(
        Adjustment.objects.filter(enrolment__household=household)
        .select_related("enrolment", "proposed_by", "approved_by")
        .order_by("-id")
    )
    applications = list(Application.objects.filter(household=household).order_by("-id"))
    reliefs = list(ReliefCase.objects.filter(household=household).order_by("-id"))
    reviews = list(
        Review.objects.filter(enrolment__household=household)
        .select_related("enrolment", "reviewed_by")
        .order_by("-reviewed_at")
    )
    return {
        "household": household,
        "month": month,
        "members": members_table(members, user=user),
        "member_count": sum(1 for member in members if member.is_active),
        "incomes": incomes_table(incomes, names=names),
        "assets": assets_table(assets),
        "enrolments": enrolments_now(enrolments, lines=lines, month=month),
        "lines": lines_table(lines),
        "adjustments": adjustments_table(adjustments),
        "applications": applications_table(applications),
        "reliefs": reliefs_table(reliefs),
        "reviews": reviews_table(reviews),
    }


def household_history(*, household: Household) -> list[Event]:
    """The household's timeline in words (a request of its own: it reads every event table).
    The members and incomes read here to name them are the timeline's too (read once)."""
    members = list(Member.objects.filter(household=household))
    incomes = list(IncomeItem.objects.filter(member__in=members)) if members else []
    names = {member.pk: member.name for member in members}
    return readable(
        household_timeline(household=household, members=members, incomes=incomes),
        names=names,
        labels={
            **{(Member, m.pk): m.name for m in members},
            **{
                (IncomeItem, i.pk): f"{names.get(i.member_id, '')} {i.get_type_display()}"
                for i in incomes
            },
        },
    )


def _yes(value: bool) -> str:
    return _("是") if value else ""


def members_table(members: list[Member], *, user) -> Table:
    def disability(member: Member) -> str:
        if not member.disability_category:
            return ""
        grade = (
            _("%(grade)s级") % {"grade": member.disability_grade} if member.disability_grade else ""
        )
        return f"{member.get_disability_category_display()}{grade}"

    def state(member: Member) -> str:
        if not member.is_alive:
            return _("已故")
        return _("在册") if member.is_active else _("已迁出")

    return Table(
        columns=[
            Column(_("姓名"), "name"),
            Column(_("与户主关系"), "get_relation_display"),
            Column(_("身份证号"), lambda m: visible_id_number(user, m.id_number)),
            Column(_("性别"), "get_sex_display", wide_only=True),
            Column(_("出生日期"), "birth_date", kind="date", wide_only=True),
            Column(_("劳动能力"), "get_work_ability_display", wide_only=True),
            Column(_("残疾"), disability, wide_only=True),
            Column(_("重病"), lambda m: _yes(m.serious_illness), wide_only=True),
            Column(_("状态"), state),
        ],
        rows=members,
        empty=_("没有成员"),
    )


def incomes_table(incomes: list[IncomeItem], *, names: dict[int, str]) -> Table:
    return Table(
        columns=[
            Column(_("成员"), lambda i: names.get(i.member_id, "")),
            Column(_("收入类型"), "get_type_display"),
            Column(_("计入收入"), lambda i: _yes(i.is_counted), wide_only=True),
            Column(_("月收入"), "monthly_amount", kind="money"),
            Column(_("起始日期"), "valid_from", kind="date", wide_only=True),
            Column(_("截止日期"), "valid_to", kind="date", wide_only=True),
        ],
        rows=incomes,
        empty=_("没有登记收入"),
    )


def assets_table(assets: list[Asset]) -> Table:
    return Table(
        columns=[
            Column(_("类型"), "get_kind_display"),
            Column(_("说明"), "description"),
            Column(_("价值"), "value", kind="money"),
        ],
        rows=assets,
        empty=_("没有登记资产"),
    )


def enrolments_now(
    enrolments: list[Enrolment], *, lines: list[PaymentLine], month: datetime.date
) -> list[EnrolmentNow]:
    """Each enrolment with its regular line of this month (or, before this month's batch, of
    the latest month paid) and that line's explanation in words."""
    latest: dict[int, PaymentLine] = {}
    for line in lines:  # newest month first
        if line.enrolment_id and line.kind == PaymentLine.Kind.REGULAR and line.month <= month:
            latest.setdefault(line.enrolment_id, line)
    # The lines are loaded already: only their explanations are read (one query, by digest).
    digests = {latest[e.pk].explanation_ref_id for e in enrolments if e.pk in latest}
    found = {row.digest: row for row in PaymentExplanation.objects.filter(digest__in=digests)}
    sources = explanations.sources_for(found.values())
    shown = []
    for enrolment in enrolments:
        line = latest.get(enrolment.pk)
        text = ""
        if line is not None:
            line.explanation_ref = found[line.explanation_ref_id]
            text = explanations.in_words(line, sources=sources)["text"]
        shown.append(EnrolmentNow(enrolment, line, text))
    return shown


def lines_table(lines: list[PaymentLine]) -> Table:
    return Table(
        columns=[
            Column(_("发放月份"), "month", kind="month"),
            Column(_("类型"), "get_kind_display"),
            Column(_("金额"), "amount", kind="money"),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
            Column(_("批次"), "batch_id", wide_only=True),
            Column(_("失败原因"), "failure_reason", wide_only=True),
        ],
        rows=lines,
        empty=_("尚无发放记录"),
    )


def adjustments_table(adjustments: list[Adjustment]) -> Table:
    return Table(
        columns=[
            Column(_("生效月份"), "effective_month", kind="month"),
            Column(_("调整类型"), "get_kind_display"),
            Column(_("类别"), "enrolment.get_category_display", wide_only=True),
            Column(_("调整前金额"), "amount_before", kind="money"),
            Column(_("调整后金额"), "amount_after", kind="money"),
            Column(_("原因说明"), "reason_text", wide_only=True),
            Column(_("经办"), "proposed_by.username", wide_only=True),
            Column(_("审批"), "approved_by.username", wide_only=True),
        ],
        rows=adjustments,
        empty=_("没有动态调整"),
    )


def applications_table(applications: list[Application]) -> Table:
    return Table(
        columns=[
            Column(_("编号"), "pk"),
            Column(_("申请类别"), "get_category_display"),
            Column(_("状态"), "state", kind="badge", badge_label="get_state_display"),
            Column(_("申请日期"), "submitted_on", kind="date", wide_only=True),
            Column(_("本环节期限"), "step_due", kind="deadline", wide_only=True),
            Column(_("不予批准理由"), "refusal_reason", wide_only=True),
        ],
        rows=applications,
        empty=_("没有救助申请"),
    )


def reliefs_table(reliefs: list[ReliefCase]) -> Table:
    return Table(
        columns=[
            Column(_("编号"), "pk"),
            Column(_("救助类型"), "get_kind_display", wide_only=True),
            Column(_("事由"), "get_cause_display"),
            Column(_("拟救助金额"), "proposed_amount", kind="money"),
            Column(_("状态"), "status", kind="badge", badge_label="get_status_display"),
            Column(_("先行救助"), lambda r: _yes(r.pay_first), wide_only=True),
            Column(_("申请时间"), "created_at", kind="datetime", wide_only=True),
        ],
        rows=reliefs,
        empty=_("没有临时救助"),
    )


def reviews_table(reviews: list[Review]) -> Table:
    return Table(
        columns=[
            Column(_("应复核日期"), "due_on", kind="date"),
            Column(_("类别"), "enrolment.get_category_display", wide_only=True),
            Column(_("复核结果"), "get_outcome_display"),
            Column(_("复核意见"), "note", wide_only=True),
            Column(_("复核人"), "reviewed_by.username", wide_only=True),
            Column(_("复核时间"), "reviewed_at", kind="datetime"),
        ],
        rows=reviews,
        empty=_("没有复核记录"),
    )


# ---------------------------------------------------------------------------------------------
# The timeline.


def readable(
    entries: list[TimelineEntry], *, names: dict[int, str], labels: dict[tuple, str]
) -> list[Event]:
    """The household's timeline, newest first, each recorded change in words. ``names`` are the
    members' by id (a change of the head names them), ``labels`` say which member or income a
    change was made to, by (model, id)."""
    events = []
    for entry in reversed(entries):
        kind = str(TIMELINE_KINDS.get(entry.kind, entry.kind))
        if entry.kind == "history":
            summary, changes = _change(entry.ref, names=names, labels=labels)
            if summary is None:
                continue
        else:
            summary, changes = entry.summary, ()
        events.append(Event(local_time(entry.at), kind, entry.actor, summary, changes))
    return events


def _change(
    ref: dict, *, names: dict[int, str], labels: dict[tuple, str]
) -> tuple[str | None, tuple[Change, ...]]:
    """A recorded change: what object it was (its model's Chinese name and, for a member or an
    income, whose) and each field changed, before → after; ``None`` when nothing shown changed."""
    event_model = apps.get_model(ref["model"])
    model = event_model.pgh_tracked_model
    label = str(model._meta.verbose_name)
    label = f"{label} {labels.get((model, int(ref['object'])), '')}".strip()
    diff = ref.get("diff")
    if not diff:
        return _("新建%(what)s") % {"what": label}, ()
    changes = []
    for name, (before, after) in diff.items():
        field = _field(model, name)
        if field is None:
            continue
        changes.append(
            Change(
                str(field.verbose_name),
                _value(field, before, names=names),
                _value(field, after, names=names),
            )
        )
    if not changes:
        return None, ()
    return _("修改%(what)s") % {"what": label}, tuple(changes)


def _field(model, name: str):
    if name in HIDDEN_FIELDS:
        return None
    try:
        field = model._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:
        return None
    if field.name in HIDDEN_FIELDS or not getattr(field, "verbose_name", None):
        return None
    if field.is_relation and str(field.verbose_name) == field.name.replace("_", " "):
        return None  # a key with no name for people
    return field


def _value(field, value, *, names: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if field.is_relation and field.related_model is Member:
        return names.get(int(value), str(value))
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if field.get_internal_type() == "DateTimeField":
        return local_time(datetime.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
    return str(value)

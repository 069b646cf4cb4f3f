"""Casework: enrolments (what payments read) and the dynamic adjustments that change them.

Referrals, applications, reviews and temporary relief are added beside these.
"""

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, Region
from core.fields import (
    PAYMENT_CEILING,
    RELIEF_CEILING,
    LineField,
    MoneyField,
    TextField,
    length_check,
    money_check,
)


class Category(models.TextChoices):
    """What a person or household is covered for. Payments compute one rule per category."""

    DIBAO = "dibao", _("低保")
    SINGLE_DIBAO = "single_dibao", _("单人保")
    TEKUN = "tekun", _("特困供养")
    ORPHAN_INSTITUTION = "orphan_institution", _("集中供养孤儿")
    ORPHAN_COMMUNITY = "orphan_community", _("散居孤儿")
    UNSUPPORTED_CHILD = "unsupported_child", _("事实无人抚养儿童")
    GUARDIAN_UNABLE_CHILD = "guardian_unable_child", _("父母无力履行监护职责儿童")
    ILL_DISABLED_CHILD = "ill_disabled_child", _("重病重残儿童")
    MARGINAL = "marginal", _("低保边缘家庭")


# Categories that cover one member rather than the whole household.
MEMBER_CATEGORIES = frozenset(
    {
        Category.SINGLE_DIBAO,
        Category.TEKUN,
        Category.ORPHAN_INSTITUTION,
        Category.ORPHAN_COMMUNITY,
        Category.UNSUPPORTED_CHILD,
        Category.GUARDIAN_UNABLE_CHILD,
        Category.ILL_DISABLED_CHILD,
    }
)


class CareLevel(models.TextChoices):
    """特困 self-care ability, which sets the care allowance."""

    SELF_CARE = "self_care", _("生活自理")
    PARTIAL = "partial", _("部分失能")
    FULL = "full", _("完全失能")


class ReviewClass(models.TextChoices):
    """How often an enrolment is reviewed (DOMAIN.md: periodic review)."""

    STABLE = "stable", _("A类 稳定(每年)")
    ABLE_TO_WORK = "able_to_work", _("B类 有劳动能力(每半年)")
    OTHER = "other", _("C类 其他(按市规定)")


# Every history event model of this app is append-only: a trigger refuses UPDATE and DELETE.
track = pghistory.track(append_only=True)


@track
class Enrolment(models.Model):
    """Coverage of a household (or one member) under a category from a month: what payments read.

    Months are stored as the first day of the month. ``end_month`` is the last month paid.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("在保")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        SUSPENDED = "suspended", _("暂停")
        STOPPED = "stopped", _("停保")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("家庭")
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrolments",
        verbose_name=_("保障对象(单人)"),
    )
    # Copied from the household, so scoping and the batch's keyset chunks need no join.
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    category = models.CharField(_("类别"), max_length=24, choices=Category.choices)
    status = models.CharField(
        _("状态"), max_length=14, choices=Status.choices, default=Status.ACTIVE
    )
    start_month = models.DateField(_("起始月份"))
    end_month = models.DateField(_("终止月份"), null=True, blank=True)
    review_class = models.CharField(
        _("复核类别"), max_length=14, choices=ReviewClass.choices, default=ReviewClass.STABLE
    )
    care_level = models.CharField(
        _("护理等级"), max_length=10, choices=CareLevel.choices, blank=True, default=""
    )
    # Gradual exit (渐退): the last approved amount is kept from the first month to the last,
    # then it stops; the months before the first were paid as computed.
    gradual_exit_amount = MoneyField(
        _("渐退期金额"), ceiling=PAYMENT_CEILING, null=True, blank=True
    )
    gradual_exit_from = models.DateField(_("渐退起始月份"), null=True, blank=True)
    gradual_exit_until = models.DateField(_("渐退截止月份"), null=True, blank=True)
    next_review_due = models.DateField(_("下次复核日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("保障记录")
        verbose_name_plural = _("保障记录")
        ordering = ["id"]
        indexes = [
            # What was recorded since a month was approved (the back-pay step's late records).
            models.Index(fields=["created_at"], name="enrolment_created_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "category"],
                condition=Q(
                    member__isnull=True, status__in=["active", "gradual_exit", "suspended"]
                ),
                name="one_open_household_enrolment_per_category",
            ),
            models.UniqueConstraint(
                fields=["member", "category"],
                condition=Q(
                    member__isnull=False, status__in=["active", "gradual_exit", "suspended"]
                ),
                name="one_open_member_enrolment_per_category",
            ),
            models.CheckConstraint(
                condition=Q(end_month__isnull=True) | Q(end_month__gte=models.F("start_month")),
                name="enrolment_months_ordered",
            ),
            money_check(
                "gradual_exit_amount", PAYMENT_CEILING, name="gradual_exit_amount_within_bounds"
            ),
            models.CheckConstraint(
                condition=Q(gradual_exit_from__isnull=True)
                | Q(gradual_exit_until__isnull=True)
                | Q(gradual_exit_until__gte=models.F("gradual_exit_from")),
                name="gradual_exit_months_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        # Derived, never entered: keeps the denormalised scope key in step with the household.
        self.region_code = Household.objects.values_list("region_code", flat=True).get(
            pk=self.household_id
        )
        super().save(*args, **kwargs)


class Adjustment(models.Model):
    """An immutable record of a dynamic adjustment (动态调整) to an enrolment.

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    class Kind(models.TextChoices):
        NEW = "new", _("新增")
        INCREASE = "increase", _("增发")
        DECREASE = "decrease", _("减发")
        STOP = "stop", _("停发")
        RESUME = "resume", _("恢复")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        MOVE = "move", _("迁移")
        REVIEW_CONFIRMED = "review_confirmed", _("复核维持")

    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("保障记录")
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    kind = models.CharField(_("调整类型"), max_length=20, choices=Kind.choices)
    reason_code = LineField(_("原因代码"), max_length=40)
    reason_text = TextField(_("原因说明"))
    effective_month = models.DateField(_("生效月份"))
    amount_before = MoneyField(_("调整前金额"), ceiling=PAYMENT_CEILING, null=True, blank=True)
    amount_after = MoneyField(_("调整后金额"), ceiling=PAYMENT_CEILING, null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("动态调整")
        verbose_name_plural = _("动态调整")
        ordering = ["id"]
        indexes = [
            # The auditors' list of a month: its rows and their region (the list's scope) without
            # reading the table (casework.api.views.AdjustmentFilter).
            models.Index(
                fields=["effective_month", "id"],
                include=["region_code"],
                name="adjustment_month_keyset",
            ),
            # What was recorded since a month was approved (the back-pay step's late records).
            models.Index(fields=["created_at"], name="adjustment_created_at"),
        ]
        # Append-only: what is refused here could never be removed again.
        constraints = [
            # Two signatures (STYLE.md rule 27): whoever proposed a change never approved it.
            # A change decided by a person (new, resume, gradual exit) names its approver;
            # stops and recomputations that follow a registry event (a death, a move) or the end
            # of a gradual exit are the engine's, with no approver.
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("proposed_by")),
                name="adjustment_approver_is_not_proposer",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["new", "resume", "gradual_exit"])
                | Q(approved_by__isnull=False),
                name="adjustment_decision_has_approver",
            ),
            length_check("reason_text", 2000, name="adjustment_reason_length"),
            money_check("amount_before", PAYMENT_CEILING, name="adjustment_before_within_bounds"),
            money_check("amount_after", PAYMENT_CEILING, name="adjustment_after_within_bounds"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="adjustment_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]


class AdjustmentCount(models.Model):
    """How many adjustments a village has per month and kind, so that the auditors' list of
    millions of adjustments is counted from a few thousand rows. Adjustments are append-only;
    on PostgreSQL a statement trigger adds each insert's rows here (migration 0010), in the
    inserting transaction."""

    region_code = models.CharField(max_length=12, db_index=True)
    effective_month = models.DateField()
    kind = models.CharField(max_length=20)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region_code", "effective_month", "kind"],
                name="one_adjustment_count_per_village_month_kind",
            )
        ]


@track
class ChangeRequest(models.Model):
    """A proposed change to an enrolment that moves money (动态调整申请), waiting for a second
    person: the caseworker proposes, an approver of the region (a different user) approves, and
    only then is the change made and its adjustment recorded (casework.services.changes)."""

    class Kind(models.TextChoices):
        INCREASE = "increase", _("增发")
        DECREASE = "decrease", _("减发")
        STOP = "stop", _("停发")
        RESUME = "resume", _("恢复")
        GRADUAL_EXIT = "gradual_exit", _("渐退")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("不予批准")
        WITHDRAWN = "withdrawn", _("已撤回")

    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.PROTECT,
        related_name="change_requests",
        verbose_name=_("保障记录"),
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    kind = models.CharField(_("调整类型"), max_length=20, choices=Kind.choices)
    effective_month = models.DateField(_("生效月份"))
    reason_code = LineField(_("原因代码"), max_length=40)
    reason_text = TextField(_("原因说明"))
    # A gradual exit's amount and months, when the proposer sets them (bounded by the rules).
    amount = MoneyField(_("渐退期金额"), ceiling=PAYMENT_CEILING, null=True, blank=True)
    months = models.PositiveSmallIntegerField(_("渐退月数"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = TextField(_("审批意见"), blank=True)
    adjustment = models.OneToOneField(
        Adjustment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_request",
        verbose_name=_("动态调整"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("动态调整申请")
        verbose_name_plural = _("动态调整申请")
        ordering = ["id"]
        constraints = [
            # Only the proposer withdraws; anyone else who decides is a second person.
            models.CheckConstraint(
                condition=Q(status="withdrawn") | ~Q(decided_by=models.F("proposed_by")),
                name="change_approver_is_not_proposer",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(decided_by__isnull=False, adjustment__isnull=False),
                name="change_approved_names_approver",
            ),
            models.CheckConstraint(
                condition=Q(months__isnull=True) | Q(months__gte=1),
                name="change_months_positive",
            ),
            money_check("amount", PAYMENT_CEILING, name="change_amount_within_bounds"),
            length_check("reason_text", 2000, name="change_reason_length"),
            length_check("decision_note", 2000, name="change_decision_note_length"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        self.region_code = self.enrolment.region_code
        super().save(*args, **kwargs)


@track
class ReliefCase(models.Model):
    """A temporary relief case (临时救助): a need, an amount checked against the city's limits."""

    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("急难型")
        SPENDING_SHOCK = "spending_shock", _("支出型")

    class Cause(models.TextChoices):
        MEDICAL = "medical", _("医疗")
        DISASTER = "disaster", _("灾害")
        ACCIDENT = "accident", _("意外事故")
        ACCIDENTAL_DEATH = "accidental_death", _("意外死亡")
        SCHOOLING = "schooling", _("教育")
        OTHER = "other", _("其他")

    class Tier(models.TextChoices):
        TOWNSHIP = "township", _("乡镇审批")
        COUNTY = "county", _("县级审批")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审批")
        APPROVED = "approved", _("已批准")
        REFUSED = "refused", _("不予救助")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="relief_cases", verbose_name=_("家庭")
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    kind = models.CharField(_("救助类型"), max_length=16, choices=Kind.choices)
    cause = models.CharField(_("事由"), max_length=16, choices=Cause.choices)
    need = TextField(_("困难情况"))
    cost = MoneyField(_("自付费用/损失"), ceiling=RELIEF_CEILING, null=True, blank=True)
    proposed_amount = MoneyField(_("拟救助金额"), ceiling=RELIEF_CEILING)
    tier = models.CharField(_("审批层级"), max_length=10, choices=Tier.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    pay_first = models.BooleanField(_("先行救助"), default=False)
    documents_due = models.DateField(_("补齐材料期限"), null=True, blank=True)
    documents_due_from = models.DateField(null=True, blank=True, editable=False)
    documents_due_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    documents_due_provisional = models.BooleanField(_("补齐材料期限暂定"), default=False)
    documents_completed_at = models.DateTimeField(_("材料补齐时间"), null=True, blank=True)
    refusal_reason = TextField(_("不予救助理由"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("临时救助")
        verbose_name_plural = _("临时救助")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(proposed_amount__gt=0), name="relief_amount_positive"
            ),
            money_check("proposed_amount", RELIEF_CEILING, name="relief_amount_within_ceiling"),
            money_check("cost", RELIEF_CEILING * 100, name="relief_cost_within_bounds"),
            length_check("need", 2000, name="relief_need_length"),
            # Two signatures: whoever proposed a relief never decides it.
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("created_by")),
                name="relief_decider_is_not_proposer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        self.region_code = self.household.region_code
        super().save(*args, **kwargs)


@track
class ReliefInstalment(models.Model):
    """One payment of an approved relief case, paid through the monthly batch of its due month.

    ``paid_batch`` is set (by ``mark_relief_instalments_paid``) when the batch creates its line.
    """

    relief = models.ForeignKey(
        ReliefCase, on_delete=models.PROTECT, related_name="instalments", verbose_name=_("临时救助")
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    due_month = models.DateField(_("发放月份"))
    amount = MoneyField(_("金额"), ceiling=RELIEF_CEILING)
    paid_batch = models.ForeignKey(
        "payments.PaymentBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发放批次"),
    )
    paid_at = models.DateTimeField(_("列入发放时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("临时救助分期")
        verbose_name_plural = _("临时救助分期")
        ordering = ["due_month", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="instalment_amount_positive"),
            money_check("amount", RELIEF_CEILING, name="instalment_amount_within_ceiling"),
        ]


@track
class Referral(models.Model):
    """A grid worker's flag (主动发现) of a person who may need assistance."""

    class Reason(models.TextChoices):
        SERIOUS_ILLNESS = "serious_illness", _("重病")
        ACCIDENT = "accident", _("意外事故")
        DISASTER = "disaster", _("灾害")
        DISABILITY = "disability", _("残疾")
        LOST_JOB = "lost_job", _("失业")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        CONVERTED = "converted", _("已转申请")
        REJECTED = "rejected", _("不予受理")

    name = LineField(_("姓名"), max_length=50)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("村/社区")
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    address = LineField(_("住址"), max_length=200, blank=True)
    reason = models.CharField(_("原因"), max_length=16, choices=Reason.choices)
    note = TextField(_("情况说明"), blank=True)
    photo = models.FileField(_("照片"), upload_to="casework/referrals/%Y/%m/", blank=True)
    # Generated when the flag's form is shown and sent with it: a form sent again (the network
    # dropped mid-upload) finds the flag it already made instead of making a second one.
    idempotency_key = models.UUIDField(
        _("提交编号"), null=True, blank=True, unique=True, editable=False
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    rejection_reason = TextField(_("不予受理理由"), blank=True)
    application = models.OneToOneField(
        "Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referral",
        verbose_name=_("申请"),
    )
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("网格员发现线索")
        verbose_name_plural = _("网格员发现线索")
        ordering = ["id"]
        constraints = [length_check("note", 2000, name="referral_note_length")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        self.region_code = self.village.code
        super().save(*args, **kwargs)


class CaseState(models.TextChoices):
    """The steps of an application (DOMAIN.md: workflow). Moves are in casework.workflow."""

    SUBMITTED = "submitted", _("已申请")
    HOME_VISIT = "home_visit", _("入户调查")
    ECONOMIC_CHECK = "economic_check", _("经济状况核对")
    TOWNSHIP_REVIEW = "township_review", _("乡镇审核")
    PUBLIC_NOTICE = "public_notice", _("公示")
    APPROVAL = "approval", _("审批")
    APPROVED = "approved", _("批准")
    REFUSED = "refused", _("不予批准")
    WITHDRAWN = "withdrawn", _("撤回")


CLOSED_STATES = frozenset({CaseState.APPROVED, CaseState.REFUSED, CaseState.WITHDRAWN})


@track
class Application(models.Model):
    """One application (case) for dibao, single-person dibao, 特困, a children's category or
    marginal-family status, carried from submission to approval or refusal."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="applications", verbose_name=_("家庭")
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("申请对象(单人)"),
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True, editable=False)
    category = models.CharField(_("申请类别"), max_length=24, choices=Category.choices)
    review_class = models.CharField(
        _("复核类别"), max_length=14, choices=ReviewClass.choices, default=ReviewClass.STABLE
    )
    care_level = models.CharField(
        _("护理等级"), max_length=10, choices=CareLevel.choices, blank=True, default=""
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=CaseState.choices, default=CaseState.SUBMITTED
    )
    # The deadline of the current step (working days, parameters); None when the step has none.
    # Each deadline keeps what it was counted from, so that entering or correcting the calendar
    # of a year it crosses recounts it (casework.services.deadlines).
    step_due = models.DateField(_("本环节期限"), null=True, blank=True)
    step_due_from = models.DateField(null=True, blank=True, editable=False)
    step_due_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    step_due_provisional = models.BooleanField(_("本环节期限暂定"), default=False)
    notice_ends = models.DateField(_("公示截止日期"), null=True, blank=True)
    notice_ends_from = models.DateField(null=True, blank=True, editable=False)
    notice_ends_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    notice_ends_provisional = models.BooleanField(_("公示截止日期暂定"), default=False)
    refusal_reason = TextField(_("不予批准理由"), blank=True)
    enrolment = models.OneToOneField(
        Enrolment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="application",
        verbose_name=_("保障记录"),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_on = models.DateField(_("申请日期"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("救助申请")
        verbose_name_plural = _("救助申请")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        self.region_code = self.household.region_code
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES


class CaseStep(models.Model):
    """One move of an application: who moved it, when, from where to where, and why.

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="steps")
    from_state = models.CharField(_("原状态"), max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=16, choices=CaseState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = TextField(_("意见"), blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("办理环节")
        verbose_name_plural = _("办理环节")
        ordering = ["id"]
        constraints = [length_check("comment", 2000, name="case_step_comment_length")]
        triggers = [
            pgtrigger.Protect(
                name="case_step_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]


class StepAttachment(models.Model):
    """A document attached to a step (investigation record, notice photo, decision letter)."""

    step = models.ForeignKey(CaseStep, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="casework/steps/%Y/%m/")
    name = LineField(_("文件名"), max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]


@track
class Objection(models.Model):
    """An objection raised during the public notice (公示); it must be resolved before approval."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="objections"
    )
    raised_by_name = LineField(_("异议人"), max_length=50, blank=True)
    content = TextField(_("异议内容"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    resolution = TextField(_("核实处理结果"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["id"]
        constraints = [length_check("content", 2000, name="objection_content_length")]


@track
class Review(models.Model):
    """A periodic review (定期复核) of an enrolment: confirmed as is, or adjusted."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("维持")
        ADJUSTED = "adjusted", _("调整")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="reviews")
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    due_on = models.DateField(_("应复核日期"))
    outcome = models.CharField(_("复核结果"), max_length=10, choices=Outcome.choices)
    note = TextField(_("复核意见"), blank=True)
    adjustment = models.OneToOneField(
        Adjustment, on_delete=models.PROTECT, related_name="review", null=True, blank=True
    )
    # A review that finds a change proposes it; the change is made once a second person approves.
    change_request = models.OneToOneField(
        ChangeRequest, on_delete=models.PROTECT, related_name="review", null=True, blank=True
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("定期复核")
        verbose_name_plural = _("定期复核")
        ordering = ["id"]

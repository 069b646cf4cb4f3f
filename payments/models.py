"""Payments: policy standards with effective dates, CPI records, monthly batches and their lines."""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import MONEY, Household, Region
from casework.models import Enrolment


@pghistory.track()
class Standard(models.Model):
    """One policy value for a city (or county), category and component, in force from a date.

    The value in force for a month is the row with the latest ``effective_from`` on or before the
    month's first day, the county's row winning over the city's. Rows are never edited in place:
    a new value is a new row (a past ``effective_from`` triggers back pay). Components are listed
    in ``payments.parameters``; ``category`` is "" where a component applies to every category.
    """

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="standards", verbose_name=_("地区")
    )
    category = models.CharField(_("类别"), max_length=24, blank=True, default="")
    component = models.CharField(_("项目"), max_length=60)
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=4)
    effective_from = models.DateField(_("生效日期"))
    note = models.CharField(_("依据/说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("保障标准与参数")
        verbose_name_plural = _("保障标准与参数")
        ordering = ["region__code", "component", "category", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "category", "component", "effective_from"],
                name="one_standard_value_per_effective_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.region.name} {self.component} {self.value} ({self.effective_from})"


@pghistory.track()
class PriceIndex(models.Model):
    """A city's monthly CPI rise (percent, year on year), recorded by finance."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="price_indices")
    month = models.DateField(_("月份"))
    cpi_rise_percent = models.DecimalField(_("CPI涨幅(%)"), max_digits=6, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("价格指数")
        verbose_name_plural = _("价格指数")
        ordering = ["region__code", "month"]
        constraints = [
            models.UniqueConstraint(fields=["region", "month"], name="one_cpi_per_city_month")
        ]


@pghistory.track()
class PaymentBatch(models.Model):
    """The monthly payment batch of one region (city or county) and month."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        COMPUTING = "computing", _("计算中")
        COMPUTED = "computed", _("已计算")
        APPROVED = "approved", _("已审批")
        EXPORTED = "exported", _("已导出")
        RECONCILED = "reconciled", _("已对账")
        CLOSED = "closed", _("已关闭")

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="payment_batches", verbose_name=_("地区")
    )
    month = models.DateField(_("发放月份"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    total_amount = models.DecimalField(_("合计金额"), default=0, **MONEY)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("发放批次")
        verbose_name_plural = _("发放批次")
        ordering = ["-month", "region__code"]
        constraints = [
            models.UniqueConstraint(fields=["region", "month"], name="one_batch_per_region_month"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("prepared_by")),
                name="batch_approver_is_not_preparer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region.name} {self.month:%Y-%m}"


class PaymentLine(models.Model):
    """One amount paid to a household in a batch, with the explanation of how it was computed.

    An enrolment has at most one line of each kind per month: a database constraint.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", _("按月发放")
        PRICE_SUBSIDY = "price_subsidy", _("价格临时补贴")
        BACK_PAY = "back_pay", _("补发")
        RECOVERY = "recovery", _("追回抵扣")
        RELIEF_INSTALMENT = "relief_instalment", _("临时救助分期")
        REISSUE = "reissue", _("失败重发")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发放")
        PAID = "paid", _("已发放")
        FAILED = "failed", _("发放失败")

    batch = models.ForeignKey(PaymentBatch, on_delete=models.CASCADE, related_name="lines")
    month = models.DateField(_("发放月份"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, null=True, blank=True, related_name="payment_lines"
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="payment_lines")
    region_code = models.CharField(max_length=12)
    category = models.CharField(max_length=24, blank=True)
    # For lines not tied to an enrolment (relief instalments, re-issues): what they pay for.
    source_ref = models.CharField(max_length=60, blank=True, default="")
    amount = models.DecimalField(_("金额"), **MONEY)
    explanation = models.JSONField(_("计算说明"), default=list)
    parameter_versions = models.JSONField(_("参数版本"), default=dict)
    bank_name = models.CharField(max_length=100, blank=True)
    bank_account_holder = models.CharField(max_length=50, blank=True)
    bank_account_number = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("发放明细")
        verbose_name_plural = _("发放明细")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "kind", "month"],
                condition=Q(enrolment__isnull=False),
                name="one_line_per_enrolment_kind_month",
            ),
            models.UniqueConstraint(
                fields=["source_ref", "kind", "month"],
                condition=~Q(source_ref=""),
                name="one_line_per_source_kind_month",
            ),
        ]
        indexes = [models.Index(fields=["batch", "id"], name="line_batch_keyset")]


class BatchChunk(models.Model):
    """One keyset range of a batch's enrolments, computed by one idempotent Celery task.

    The row is the task's record: a chunk's lines and its ``done`` mark commit in one transaction,
    so a retried, duplicated or redelivered task finds the chunk done and changes nothing.
    Timings, query count and peak memory are kept for the benchmark and for operators.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待计算")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")

    batch = models.ForeignKey(PaymentBatch, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_enrolment_id = models.BigIntegerField()
    last_enrolment_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)
    total_amount = models.DecimalField(default=0, **MONEY)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Seconds spent reading facts, computing amounts and writing lines (not money: floats).
    read_seconds = models.FloatField(default=0)
    compute_seconds = models.FloatField(default=0)
    write_seconds = models.FloatField(default=0)
    queries = models.PositiveIntegerField(default=0)
    peak_rss_kb = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("批次分块")
        verbose_name_plural = _("批次分块")
        ordering = ["batch", "number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="one_chunk_number_per_batch")
        ]

    def __str__(self) -> str:
        return f"{self.batch} #{self.number}"

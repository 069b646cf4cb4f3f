"""Payments: monthly batches and their lines, explanations, bank files and returns, recoveries."""

import json

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import MONEY, Household, Region
from casework.models import Enrolment
from core.fields import LINE_CEILING, LineField, MoneyField, money_check


@pghistory.track()
class PaymentBatch(models.Model):
    """The monthly payment batch of one region (city or county) and month."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        COMPUTING = "computing", _("计算中")
        # A chunk or the closing step failed for good: ``error`` says why; resumable.
        FAILED = "failed", _("计算失败")
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
            # Two people for every batch: an approved batch names a preparer of record who is
            # not its approver (a trigger in the migrations also holds both to finance users,
            # the approver of the batch's region).
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | (Q(prepared_by__isnull=False) & ~Q(approved_by=models.F("prepared_by"))),
                name="batch_approved_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region.name} {self.month:%Y-%m}"


class BatchReview(models.Model):
    """What finance reads before approving a batch (totals by category and district, counts of
    new, stopped and changed lines), counted once from the lines named by ``lines_key``: the
    first and last line id of the batch and of the previous month's batch. Lines are only ever
    written by computing a batch, whose identity ids only grow, so a recompute (of either
    batch) changes the key and the review is counted again (``payments.review``)."""

    batch = models.OneToOneField(
        PaymentBatch, on_delete=models.CASCADE, primary_key=True, related_name="review"
    )
    lines_key = models.CharField(max_length=120)
    summary = models.JSONField()
    counted_at = models.DateTimeField(auto_now=True)


# A batch approved or later: its lines are what was paid, never recomputed.
FROZEN = (
    PaymentBatch.Status.APPROVED,
    PaymentBatch.Status.EXPORTED,
    PaymentBatch.Status.RECONCILED,
    PaymentBatch.Status.CLOSED,
)


class PaymentExplanation(models.Model):
    """What explains an amount, stored once however many lines share it: the steps of the
    computation and the Standard rows (parameter versions) it used (payments.explanations makes,
    stores and reads them).

    Identical facts under identical parameters give identical explanations, so a batch's lines
    share a few hundred thousand of them at most. The row keeps the canonical JSON text of
    ``{"steps": [...], "versions": {...}}`` exactly as it was digested: ``digest`` is the SHA-256
    of ``text``, which anyone can check (in SQL: ``encode(sha256(convert_to(text, 'UTF8')),
    'hex')``), and storing it needs no parsing (as ``jsonb`` it cost ten times more to insert).
    ``steps`` and ``versions`` read it back; in SQL, ``text::jsonb`` queries it. Written once,
    never changed or deleted: a row's content is its key.
    """

    digest = models.CharField(primary_key=True, max_length=64)
    text = models.TextField(_("计算说明"))

    class Meta:
        verbose_name = _("计算说明")
        verbose_name_plural = _("计算说明")
        # Never changed, never deleted: lines point to it without a row-by-row foreign key.
        triggers = [
            pgtrigger.Protect(
                name="explanation_written_once", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    @property
    def steps(self) -> list[dict]:
        """The steps of the computation, in order (PaymentLine.explanation)."""
        return self._content()["steps"]

    @property
    def versions(self) -> dict[str, int]:
        """The Standard ids used, as ``Result.versions`` names them."""
        return self._content()["versions"]

    def _content(self) -> dict:
        # Parsed once per text (the row is never changed, but an unsaved one may be).
        cached = self.__dict__.get("_parsed")
        if cached is None or cached[0] is not self.text:
            cached = self.__dict__["_parsed"] = (self.text, json.loads(self.text))
        return cached[1]


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

    # No single-column indexes on batch and enrolment: line_batch_keyset (batch, id) and the
    # unique (enrolment, kind, month) index serve those lookups, and every index costs each of
    # a batch's million inserts.
    # The four references (batch, enrolment, household, explanation) are checked once per
    # statement, not row by row: PostgreSQL's foreign keys look up and lock each referenced row
    # for each inserted line, which took more time than the COPY itself. Migration 0006 installs
    # the set-based check on insert and the guards that refuse to delete a referenced row; the
    # ORM still applies on_delete. A line's references never change (line_payment_written_once).
    batch = models.ForeignKey(
        PaymentBatch,
        on_delete=models.CASCADE,
        related_name="lines",
        db_index=False,
        db_constraint=False,
    )
    month = models.DateField(_("发放月份"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    enrolment = models.ForeignKey(
        Enrolment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_lines",
        db_index=False,
        db_constraint=False,
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="payment_lines", db_constraint=False
    )
    region_code = models.CharField(max_length=12)
    category = models.CharField(max_length=24, blank=True)
    # For lines not tied to an enrolment (relief instalments, re-issues): what they pay for.
    source_ref = models.CharField(max_length=60, blank=True, default="")
    amount = models.DecimalField(_("金额"), **MONEY)
    # Shared with every line explained alike; read through ``explanation`` (the steps) and
    # ``parameter_versions``. A line made with the ORM gets one from payments.explanations.make
    # and is written with payments.explanations.create_lines.
    explanation_ref = models.ForeignKey(
        PaymentExplanation,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("计算说明"),
    )
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
            # A failed transfer is re-issued once, whatever month it is re-issued in: the
            # source_ref names the failed transfer (batch and household).
            models.UniqueConstraint(
                fields=["source_ref"],
                condition=Q(kind="reissue"),
                name="one_reissue_per_failed_transfer",
            ),
            # A line past it is refused, and its batch fails saying so, long before the sums
            # of a million lines could overflow the batch's totals.
            money_check("amount", LINE_CEILING, name="line_amount_within_bounds", signed=True),
        ]
        indexes = [
            models.Index(fields=["batch", "id"], name="line_batch_keyset"),
            # The closing step looks for failed transfers to re-issue (corrections.reissue_lines)
            # among every month's lines: this index holds only the failed ones, so the search
            # reads those few and not years of lines. A batch's new lines are pending and never
            # enter it.
            models.Index(
                fields=["region_code"],
                name="failed_lines_by_region",
                opclasses=["varchar_pattern_ops"],
                condition=Q(status="failed"),
            ),
        ]
        # What a line pays, to whom and into which account is written once: reconciliation
        # only ever sets its status, so an approved batch cannot drift under the bank file.
        triggers = [
            pgtrigger.Protect(
                name="line_payment_written_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(
                    "batch",
                    "month",
                    "kind",
                    "enrolment",
                    "household",
                    "amount",
                    "explanation_ref",
                    "bank_name",
                    "bank_account_holder",
                    "bank_account_number",
                ),
            )
        ]

    @property
    def explanation(self) -> list[dict]:
        """The steps explaining the amount, as stored (select_related("explanation_ref") to read
        many; payments.explanations.in_words puts them into words)."""
        return self.explanation_ref.steps

    @property
    def parameter_versions(self) -> dict[str, int]:
        """The Standard rows the amount was computed with, as ``Result.versions`` names them."""
        return self.explanation_ref.versions


class BankFile(models.Model):
    """A bank file exported for an approved batch, kept under BANK_FILE_ROOT with its checksum.

    The layout is docs/bank-file-layout.md: one transfer per household (the net of its lines),
    then a control record with the transfer count and total.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="bank_files")
    format = models.CharField(_("格式"), max_length=4, choices=Format.choices)
    path = models.CharField(_("文件路径"), max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    record_count = models.PositiveIntegerField(_("笔数"))
    total_amount = models.DecimalField(_("总金额"), **MONEY)
    # The transfers the file could not carry as recorded: reference, household, amount, reason.
    withheld = models.JSONField(_("未写入的转账"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("银行代发文件")
        verbose_name_plural = _("银行代发文件")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "format"], name="one_bank_file_per_format")
        ]

    def __str__(self) -> str:
        return f"{self.batch} {self.format} {self.sha256[:12]}"


class BankReturn(models.Model):
    """The bank's return file for an exported batch, accepted once its counts and totals matched."""

    batch = models.OneToOneField(PaymentBatch, on_delete=models.PROTECT, related_name="bank_return")
    path = models.CharField(_("文件路径"), max_length=300)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    paid_count = models.PositiveIntegerField(_("成功笔数"))
    paid_total = models.DecimalField(_("成功金额"), **MONEY)
    failed_count = models.PositiveIntegerField(_("失败笔数"))
    failed_total = models.DecimalField(_("失败金额"), **MONEY)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("银行回盘文件")
        verbose_name_plural = _("银行回盘文件")
        ordering = ["-id"]


@pghistory.track()
class Recovery(models.Model):
    """Money paid to a household that it was not due (追回), recovered by offset or repayment.

    What is still owed is the amount less what later batches offset (recovery lines whose
    source_ref is ``recovery:<id>``) and less what the household repaid.
    """

    class Reason(models.TextChoices):
        DEATH = "death", _("死亡未及时报告")
        HIDDEN_INCOME = "hidden_income", _("隐瞒收入")
        OVERPAYMENT = "overpayment", _("其他多发")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="recoveries", verbose_name=_("家庭")
    )
    region_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, null=True, blank=True, related_name="recoveries"
    )
    # The month that was overpaid, when the overpayment was found by recomputing it.
    month = models.DateField(_("多发月份"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    amount = MoneyField(_("应追回金额"), ceiling=LINE_CEILING)
    note = LineField(_("说明"), max_length=200, blank=True)
    detected_in_batch = models.ForeignKey(
        PaymentBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    repaid_amount = models.DecimalField(_("已退回金额"), default=0, **MONEY)
    repaid_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    repaid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A recovery recorded by hand is offset only once a second finance user approves it; one a
    # batch found by recomputing (``detected_in_batch``) needs no approval.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("追回款")
        verbose_name_plural = _("追回款")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
            models.CheckConstraint(
                condition=Q(repaid_amount__gte=0) & Q(repaid_amount__lte=models.F("amount")),
                name="recovery_repaid_within_amount",
            ),
            # Two signatures: whoever recorded a recovery by hand never approves it.
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("created_by")),
                name="recovery_approver_is_not_recorder",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} {self.amount}"

    @property
    def source_ref(self) -> str:
        return f"recovery:{self.pk}"


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

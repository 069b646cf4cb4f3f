"""Admin for monthly batches, bank files, return files and recoveries.

Batches are computed, recomputed and resumed by admin actions calling payments.batches, then
approved, exported and closed through payments.approval and payments.bankfiles; bank files,
return files and recoveries are read-only here (recoveries can be marked repaid).
"""

from functools import partial

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin import PolicyAdminMixin
from core.exceptions import DomainError
from payments import approval, bankfiles, batches, recoveries
from payments.models import BankFile, BankReturn, BatchChunk, PaymentBatch, Recovery


class BatchChunkInline(admin.TabularInline):
    model = BatchChunk
    extra = 0
    can_delete = False
    fields = [
        "number",
        "first_enrolment_id",
        "last_enrolment_id",
        "status",
        "attempts",
        "line_count",
        "total_amount",
        "worker",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _each_batch(modeladmin, request, queryset, service, done_message):
    for batch in queryset:
        try:
            service(batch=batch)
        except DomainError as error:
            modeladmin.message_user(request, f"{batch}: {error.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{batch}: {done_message}", messages.SUCCESS)


@admin.action(description=_("开始计算所选批次"))
def compute(modeladmin, request, queryset):
    _each_batch(modeladmin, request, queryset, batches.compute_batch, _("已开始计算"))


@admin.action(description=_("重新计算所选批次"))
def recompute(modeladmin, request, queryset):
    service = partial(batches.recompute_batch, by=request.user)
    _each_batch(modeladmin, request, queryset, service, _("已开始重新计算"))


@admin.action(description=_("续算未完成的分块"))
def resume(modeladmin, request, queryset):
    _each_batch(modeladmin, request, queryset, batches.resume_batch, _("已重新排队"))


@admin.action(description=_("审批所选批次(审批人不能是制单人)"))
def approve(modeladmin, request, queryset):
    service = partial(approval.approve_batch, by=request.user)
    _each_batch(modeladmin, request, queryset, service, _("已审批"))


@admin.action(description=_("导出银行代发文件(CSV和XLSX)"))
def export(modeladmin, request, queryset):
    service = partial(bankfiles.export_batch, by=request.user)
    _each_batch(modeladmin, request, queryset, service, _("已导出，文件见“银行代发文件”"))


@admin.action(description=_("关闭已对账的批次"))
def close(modeladmin, request, queryset):
    service = partial(approval.close_batch, by=request.user)
    _each_batch(modeladmin, request, queryset, service, _("已关闭"))


@admin.register(PaymentBatch)
class PaymentBatchAdmin(PolicyAdminMixin, admin.ModelAdmin):
    resource = "batch"
    list_display = [
        "region",
        "month",
        "status",
        "chunks_done",
        "chunks_total",
        "line_count",
        "total_amount",
    ]
    list_filter = ["status", "month"]
    readonly_fields = [
        "status",
        "prepared_by",
        "approved_by",
        "approved_at",
        "chunks_total",
        "chunks_done",
        "line_count",
        "total_amount",
        "error",
    ]
    actions = [compute, recompute, resume, approve, export, close]
    inlines = [BatchChunkInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("region")
        return queryset.filter(region__code__startswith=request.user.region_prefix)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.prepared_by = batches.preparer(request.user)
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """Written only by the services (export, reconciliation): readable, never edited here."""

    resource = "bank-file"
    region_field = "batch__region__code"

    def get_queryset(self, request):
        scope = {f"{self.region_field}__startswith": request.user.region_prefix}
        return super().get_queryset(request).filter(**scope)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BankFile)
class BankFileAdmin(ReadOnlyAdmin):
    list_display = ["batch", "format", "record_count", "total_amount", "sha256", "created_at"]
    list_filter = ["format"]


@admin.register(BankReturn)
class BankReturnAdmin(ReadOnlyAdmin):
    list_display = [
        "batch",
        "paid_count",
        "paid_total",
        "failed_count",
        "failed_total",
        "imported_by",
        "imported_at",
    ]


@admin.action(description=_("登记所选追回款已由家庭退回"))
def mark_repaid(modeladmin, request, queryset):
    for recovery in queryset:
        try:
            recoveries.mark_repaid(recovery=recovery, by=request.user)
        except DomainError as error:
            modeladmin.message_user(request, f"#{recovery.pk}: {error.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"#{recovery.pk}: {_('已登记退回')}", messages.SUCCESS)


@admin.register(Recovery)
class RecoveryAdmin(ReadOnlyAdmin):
    resource = "recovery"
    read_log_name = "recovery"
    region_field = "region_code"
    list_display = [
        "id",
        "household",
        "month",
        "reason",
        "amount",
        "repaid_amount",
        "repaid_at",
        "created_at",
    ]
    list_filter = ["reason"]
    actions = [mark_repaid]

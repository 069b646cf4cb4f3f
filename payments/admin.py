"""Admin for policy values (Standard) and the monthly CPI (PriceIndex), and monthly batches.

Standards and CPI are append-only here as in the API: a changed value is a new row with its
effective date, added through the same services (payments.standards), scoped to the user's region.
Batches are computed, recomputed and resumed by admin actions calling payments.batches, then
approved, exported and closed through payments.approval and payments.bankfiles; bank files,
return files and recoveries are read-only here (recoveries can be marked repaid).
"""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from config.exceptions import DomainError
from payments import approval, bankfiles, batches, recoveries
from payments.models import (
    BankFile,
    BankReturn,
    BatchChunk,
    PaymentBatch,
    PriceIndex,
    Recovery,
    Standard,
)
from payments.parameters import CATALOGUE
from payments.selectors import price_indices_visible_to, standards_visible_to
from payments.standards import (
    add_standard,
    can_maintain,
    record_price_index,
    validate_price_index,
    validate_standard,
)


def _as_form_error(check, **values) -> None:
    try:
        check(**values)
    except DomainError as error:
        raise ValidationError({error.field: error.message})


class StandardForm(forms.ModelForm):
    component = forms.ChoiceField(
        choices=[(name, f"{c.label} ({name})") for name, c in CATALOGUE.items()]
    )

    class Meta:
        model = Standard
        fields = ["region", "category", "component", "value", "effective_from", "note"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            _as_form_error(
                validate_standard,
                region=data["region"],
                component=data["component"],
                category=data.get("category", ""),
                value=data["value"],
                effective_from=data["effective_from"],
            )
        return data


class AppendOnlyAdmin(admin.ModelAdmin):
    """Maintainers add rows; nobody edits or deletes them."""

    def has_add_permission(self, request):
        return can_maintain(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_staff


@admin.register(Standard)
class StandardAdmin(AppendOnlyAdmin):
    form = StandardForm
    list_display = ["region", "component", "category", "value", "effective_from", "created_by"]
    list_filter = ["component", "category", "effective_from"]
    search_fields = ["region__code", "region__name", "component", "note"]
    date_hierarchy = "effective_from"

    def get_queryset(self, request):
        return standards_visible_to(user=request.user)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = add_standard(
            region=data["region"],
            component=data["component"],
            category=data.get("category", ""),
            value=data["value"],
            effective_from=data["effective_from"],
            note=data.get("note", ""),
            by=request.user,
        )
        obj.pk = saved.pk


class PriceIndexForm(forms.ModelForm):
    class Meta:
        model = PriceIndex
        fields = ["region", "month", "cpi_rise_percent"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["month"] = data["month"].replace(day=1)
            _as_form_error(
                validate_price_index,
                region=data["region"],
                cpi_rise_percent=data["cpi_rise_percent"],
            )
        return data


@admin.register(PriceIndex)
class PriceIndexAdmin(AppendOnlyAdmin):
    form = PriceIndexForm
    list_display = ["region", "month", "cpi_rise_percent", "recorded_by"]
    list_filter = ["month"]

    def get_queryset(self, request):
        return price_indices_visible_to(user=request.user)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = record_price_index(
            region=data["region"],
            month=data["month"],
            cpi_rise_percent=data["cpi_rise_percent"],
            by=request.user,
        )
        obj.pk = saved.pk


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
    _each_batch(modeladmin, request, queryset, batches.recompute_batch, _("已开始重新计算"))


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
class PaymentBatchAdmin(admin.ModelAdmin):
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
            obj.prepared_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the services (export, reconciliation): readable, never edited here."""

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

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from config.exceptions import DomainError
from payments import batches
from payments.models import BatchChunk, PaymentBatch


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
    actions = [compute, recompute, resume]
    inlines = [BatchChunkInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("region")
        return queryset.filter(region__code__startswith=request.user.region_prefix)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.prepared_by = request.user
        super().save_model(request, obj, form, change)

"""Casework in the Django admin: read-only, scoped like the API.

Every change to a case, an enrolment or a relief goes through the services (the API), which
enforce the state machine and write the adjustment; the admin only shows. History events and
adjustments are append-only at the database level as well.
"""

from django.contrib import admin

from beneficiaries.models import User
from core.admin import ScopedAdminMixin

from .models import (
    Adjustment,
    Application,
    CaseStep,
    Enrolment,
    Objection,
    Referral,
    ReliefCase,
    ReliefInstalment,
    Review,
)

Role = User.Role
READERS = frozenset({Role.CASEWORKER, Role.COUNTY_APPROVER, Role.FINANCE, Role.AUDITOR, Role.ADMIN})


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    read_roles = READERS
    write_roles = frozenset()

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AdjustmentInline(ReadOnlyInline):
    model = Adjustment
    fields = ["kind", "effective_month", "amount_before", "amount_after", "reason_text"]
    readonly_fields = fields


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "household", "member", "category", "status", "start_month", "end_month"]
    list_filter = ["category", "status", "review_class"]
    inlines = [AdjustmentInline]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "region_code",
        "enrolment",
        "kind",
        "effective_month",
        "amount_before",
        "amount_after",
        "proposed_by",
        "approved_by",
        "created_at",
    ]
    list_filter = ["kind", "effective_month"]
    search_fields = ["reason_text", "reason_code"]


class CaseStepInline(ReadOnlyInline):
    model = CaseStep
    fields = ["from_state", "to_state", "actor", "comment", "at"]
    readonly_fields = fields


class ObjectionInline(ReadOnlyInline):
    model = Objection
    fields = ["content", "recorded_at", "resolution", "resolved_at"]
    readonly_fields = fields


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "household", "category", "state", "step_due", "submitted_on"]
    list_filter = ["state", "category"]
    inlines = [CaseStepInline, ObjectionInline]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "village", "reason", "status", "flagged_by", "created_at"]
    list_filter = ["status", "reason"]


class InstalmentInline(ReadOnlyInline):
    model = ReliefInstalment
    fields = ["due_month", "amount", "paid_batch", "paid_at"]
    readonly_fields = fields


@admin.register(ReliefCase)
class ReliefCaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "household", "kind", "cause", "proposed_amount", "tier", "status"]
    list_filter = ["status", "kind", "cause", "tier", "pay_first"]
    inlines = [InstalmentInline]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "enrolment", "due_on", "outcome", "reviewed_by", "reviewed_at"]
    list_filter = ["outcome"]


def _register_history(model, scope_field: str) -> None:
    """The history events of a casework model: read-only, scoped like the model."""
    admin.site.register(
        model.pgh_event_model,
        type(
            f"{model.__name__}EventAdmin",
            (ReadOnlyAdmin,),
            {
                "scope_field": scope_field,
                "list_display": ["pgh_id", "pgh_created_at", "pgh_label", "pgh_obj", "pgh_context"],
                "list_filter": ["pgh_label"],
            },
        ),
    )


for tracked, field in [
    (Enrolment, "region_code"),
    (Application, "region_code"),
    (Referral, "region_code"),
    (ReliefCase, "region_code"),
    (ReliefInstalment, "region_code"),
    (Objection, "application__region_code"),
    (Review, "region_code"),
]:
    _register_history(tracked, field)

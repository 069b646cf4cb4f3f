"""Casework in the Django admin: read-only, scoped like the API, but for the moves of people.

Every change to a case, an enrolment or a relief goes through the services (the API), which
enforce the state machine and write the adjustment; the admin only shows. History events and
adjustments are append-only at the database level as well. A move of a person between
households is made here (the registry's MemberMove page) because it has casework consequences.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, Member, MemberMove
from casework.services import registry_events
from core.admin import ScopedAdminMixin, ServiceAdminForm, ServiceAdminMixin
from core.scope import scope

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


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read by the roles ``core.policy`` lets read the resource; changed only by the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

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
    resource = "enrolment"
    list_display = ["id", "household", "member", "category", "status", "start_month", "end_month"]
    read_log_name = "enrolment"
    list_filter = ["category", "status", "review_class"]
    inlines = [AdjustmentInline]


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    resource = "adjustment"
    read_log_name = "adjustment"
    read_household = "enrolment.household"
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
    resource = "application"
    read_log_name = "application"
    list_display = [
        "id",
        "household",
        "category",
        "state",
        "step_due",
        "step_due_provisional",
        "notice_ends",
        "notice_ends_provisional",
        "submitted_on",
    ]
    list_filter = ["state", "category"]
    inlines = [CaseStepInline, ObjectionInline]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    resource = "referral"
    read_log_name = "referral"
    read_household = ""
    list_display = ["id", "name", "village", "reason", "status", "flagged_by", "created_at"]
    list_filter = ["status", "reason"]


class InstalmentInline(ReadOnlyInline):
    model = ReliefInstalment
    fields = ["due_month", "amount", "paid_batch", "paid_at"]
    readonly_fields = fields


@admin.register(ReliefCase)
class ReliefCaseAdmin(ReadOnlyAdmin):
    resource = "relief"
    read_log_name = "relief"
    list_display = ["id", "household", "kind", "cause", "proposed_amount", "tier", "status"]
    list_filter = ["status", "kind", "cause", "tier", "pay_first"]
    inlines = [InstalmentInline]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    resource = "enrolment"
    read_log_name = "review"
    read_household = "enrolment.household"
    list_display = ["id", "enrolment", "due_on", "outcome", "reviewed_by", "reviewed_at"]
    list_filter = ["outcome"]


class MemberMoveForm(ServiceAdminForm):
    member = forms.ModelChoiceField(
        queryset=Member.objects.filter(is_active=True), label=_("原成员记录")
    )
    to_household = forms.ModelChoiceField(queryset=Household.objects.all(), label=_("家庭"))
    relation = forms.ChoiceField(
        choices=Member.Relation.choices, initial=Member.Relation.OTHER, label=_("与户主关系")
    )

    class Meta:
        model = MemberMove
        fields = ["moved_on", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = scope(
            self.fields["member"].queryset, user=self.user, field="household__region_code"
        )
        self.fields["to_household"].queryset = scope(
            self.fields["to_household"].queryset, user=self.user
        )

    def perform(self, data):
        new_member = registry_events.move_member(
            member=data["member"],
            to_household=data["to_household"],
            moved_on=data["moved_on"],
            reason=data["reason"],
            relation=data["relation"],
            by=self.user,
        )
        return new_member.moved_in


@admin.register(MemberMove)
class MemberMoveAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """A registry move, made with its casework consequences (``registry_events.move_member``);
    registered here because the registry app may not call casework."""

    form = MemberMoveForm
    scope_field = "to_member__household__region_code"
    resource = "member-move"
    read_log_name = "member_move"
    read_household = "to_member.household"
    list_display = ["id", "from_member", "to_member", "moved_on", "reason", "moved_by"]
    list_select_related = ["from_member", "to_member", "moved_by"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["member", "to_household", "relation", "moved_on", "reason"]
        return ["from_member", "to_member", "moved_on", "reason", "moved_by"]

    def has_change_permission(self, request, obj=None):
        # Moves are append-only records; a wrong move is corrected by another move.
        return obj is None and super().has_change_permission(request, obj)


def _has_field(model, name: str) -> bool:
    return any(field.name == name for field in model._meta.fields)


def _register_history(model, scope_field: str) -> None:
    """The history events of a casework model: read-only, scoped like the model."""
    admin.site.register(
        model.pgh_event_model,
        type(
            f"{model.__name__}EventAdmin",
            (ReadOnlyAdmin,),
            {
                "scope_field": scope_field,
                "resource": "history",
                "read_log_name": f"{model._meta.model_name}.history",
                "read_household": "household" if _has_field(model, "household") else "",
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

"""Admin for policy values (Standard) and the monthly CPI (PriceIndex).

Both are append-only here as in the API: a changed value is a new row with its effective date,
added through the same services (rules.services), scoped to the user's region.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core.exceptions import DomainError
from core.months import first_of_month
from rules.models import PriceIndex, Standard
from rules.parameters import CATALOGUE
from rules.selectors import price_indices_visible_to, standards_visible_to
from rules.services import (
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
            data["month"] = first_of_month(data["month"])
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

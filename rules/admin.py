"""Admin for policy values (Standard), the monthly CPI (PriceIndex) and the working-day calendar.

Standards and CPI figures are append-only here as in the API: a changed value is a new row with
its effective date, added through the same services (rules.services), scoped to the user's
region. A calendar year is entered and corrected through ``rules.calendar.enter_year``.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core.admin import PolicyAdminMixin
from core.exceptions import DomainError
from core.months import first_of_month
from rules.calendar import Period, enter_year, validate_year
from rules.models import CalendarPeriod, CalendarYear, PriceIndex, Standard
from rules.parameters import CATALOGUE
from rules.selectors import price_indices_visible_to, standards_visible_to
from rules.services import (
    add_standard,
    record_price_index,
    validate_price_index,
    validate_standard,
)


def _as_form_error(check, **values) -> None:
    try:
        check(**values)
    except DomainError as error:
        raise ValidationError({error.field: error.message})


def component_choices() -> list[tuple[str, str]]:
    # Called when the form is built, not at import: other apps register components in ready().
    return [(name, f"{c.label} ({name})") for name, c in CATALOGUE.items()]


class StandardForm(forms.ModelForm):
    component = forms.ChoiceField(choices=component_choices)

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


class AppendOnlyAdmin(PolicyAdminMixin, admin.ModelAdmin):
    """Maintainers add rows; nobody edits or deletes them."""

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Standard)
class StandardAdmin(AppendOnlyAdmin):
    resource = "standard"
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
    resource = "price-index"
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


class CalendarPeriodFormSet(forms.BaseInlineFormSet):
    """The year's lines, checked together by the rules ``enter_year`` applies."""

    def periods(self) -> list[Period]:
        return [
            Period(row["kind"], row["first_day"], row["last_day"] or row["first_day"], row["name"])
            for row in self.cleaned_data
            if row and not row.get("DELETE")
        ]

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.year is None:
            return
        try:
            validate_year(year=self.instance.year, periods=self.periods())
        except DomainError as error:
            raise ValidationError(error.message)


class CalendarKeepersEnter(PolicyAdminMixin):
    """Everyone reads the calendar; the keepers ``core.policy`` names enter it."""

    resource = "calendar-year"

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request)


class CalendarPeriodInline(CalendarKeepersEnter, admin.TabularInline):
    model = CalendarPeriod
    formset = CalendarPeriodFormSet
    fields = ["kind", "first_day", "last_day", "name"]
    extra = 12

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # One day is written once: an empty "to" means the same day.
        formset.form.base_fields["last_day"].required = False
        return formset

    def get_extra(self, request, obj=None, **kwargs):
        return 2 if obj is not None else self.extra

    def has_delete_permission(self, request, obj=None):
        # A period removed from a year being corrected; the year itself stays.
        return self.has_change_permission(request, obj)


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarKeepersEnter, admin.ModelAdmin):
    """Administrators enter a year from the State Council's notice, one line per holiday period
    or make-up working day; saving confirms the year and recounts the open deadlines in it."""

    inlines = [CalendarPeriodInline]
    list_display = ["year", "source", "confirmed_by", "confirmed_at"]
    fields = ["year", "source"]

    def get_readonly_fields(self, request, obj=None):
        return ["year"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # A confirmed year is corrected, never removed: deadlines were counted with it.
        return False

    def save_model(self, request, obj, form, change):
        """Saved with its periods by ``enter_year`` in ``save_related``."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The periods are replaced as a whole by enter_year, not saved row by row.
        return super().construct_change_message(request, form, [], add)

    def save_related(self, request, form, formsets, change):
        (periods,) = formsets
        enter_year(
            year=form.instance.year,
            periods=periods.periods(),
            source=form.cleaned_data["source"],
            by=request.user,
        )

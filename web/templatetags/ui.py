"""Filters and tags of the page components: ``{% load ui %}``.

* ``{{ amount|money }}`` — 1,725.00: two decimals (half up), thousands separators; "—" for none.
* ``{{ n|count }}`` — 1,000,000.
* ``{% widget field %}`` — a form field's input with the framework's classes, marked invalid
  and tied to its error message when the field has one.
* ``{% badge value label %}`` — a status badge, coloured by ``web.components.TONES``.
* ``{% cell row column %}`` — one table cell's content as ``web.components.Column`` says (a
  deadline already past is marked 已超期).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms, template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from web.components import Column, tone

register = template.Library()

CENT = Decimal("0.01")
NONE = "—"


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return NONE
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    if amount == 0:
        amount = abs(amount)  # never "-0.00"
    return f"{amount:,.2f}"


@register.filter
def count(value) -> str:
    if value is None or value == "":
        return NONE
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _input_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


@register.simple_tag
def widget(field: forms.BoundField) -> str:
    attrs = {"class": _input_class(field.field.widget)}
    if field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.auto_id}_error"
    elif field.help_text:
        attrs["aria-describedby"] = f"{field.auto_id}_help"
    return field.as_widget(attrs=attrs)


@register.simple_tag
def badge(value, label=None) -> str:
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        tone(str(value)),
        value if label is None else label,
    )


def _date(value, fmt: str) -> str:
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_filter(value, fmt)


@register.simple_tag
def cell(row, column: Column) -> str:
    value = column.value(row)
    if column.kind == "badge":
        text = badge(value, column.label_of(row)) if value not in (None, "") else NONE
    elif value is None or value == "":
        text = NONE
    elif column.kind == "money":
        text = money(value)
    elif column.kind == "count":
        text = count(value)
    elif column.kind == "date":
        text = _date(value, "SHORT_DATE_FORMAT")
    elif column.kind == "deadline":
        text = _date(value, "SHORT_DATE_FORMAT")
        if value < timezone.localdate():
            text = format_html(
                '<span class="text-danger fw-semibold">{} {}</span>', text, _("已超期")
            )
    elif column.kind == "datetime":
        text = _date(value, "SHORT_DATETIME_FORMAT")
    elif column.kind == "month":
        text = _date(value, "YEAR_MONTH_FORMAT")
    else:
        text = str(value)
    url = column.link(row) if column.link is not None and text != NONE else ""
    if url:
        return format_html('<a href="{}">{}</a>', url, text)
    return format_html("{}", text)

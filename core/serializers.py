"""Serializer fields every app's API shares."""

import datetime
import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-12"})
class MonthField(serializers.DateField):
    """A month: ``YYYY-MM`` (or a day of it, ``YYYY-MM-DD``), kept as its first day and shown as
    ``YYYY-MM`` (the schema says so: not a ``date``)."""

    default_error_messages = {"invalid": _("月份格式应为 YYYY-MM")}

    def to_internal_value(self, value):
        text = str(value)
        if not re.fullmatch(MONTH_PATTERN, text):
            self.fail("invalid")
        try:
            month = datetime.date.fromisoformat(text[:7] + "-01")
        except ValueError:
            self.fail("invalid")
        return month

    def to_representation(self, value):
        return value.strftime("%Y-%m")

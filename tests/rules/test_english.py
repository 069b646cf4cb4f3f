"""The rules app speaks English under the language switch (rules/locale/en) and Chinese by
default."""

import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from core.exceptions import DomainError
from rules.models import CalendarPeriod
from rules.services import validate_standard


def refusal_of_a_mid_month_standard(regions) -> str:
    with pytest.raises(DomainError) as error:
        validate_standard(
            region=regions["zhenjiang"],
            component="standard",
            category="",
            value=Decimal("875"),
            effective_from=datetime.date(2025, 1, 15),
        )
    assert error.value.field == "effective_from"
    return str(error.value.message)


def test_a_refusal_of_a_standard_is_english_under_the_switch_and_chinese_by_default(regions):
    with translation.override("en"):
        assert refusal_of_a_mid_month_standard(regions) == (
            "The effective date must be the first of a month"
        )
    with translation.override("zh-hans"):
        assert refusal_of_a_mid_month_standard(regions) == "生效日期须为某月1日"


def test_the_calendars_kinds_are_named_in_the_users_language():
    with translation.override("en"):
        assert str(CalendarPeriod.Kind.WORKDAY.label) == "Make-up working day"
        assert str(CalendarPeriod._meta.verbose_name) == "Holidays and make-up working days"
    with translation.override("zh-hans"):
        assert str(CalendarPeriod.Kind.WORKDAY.label) == "调休上班"

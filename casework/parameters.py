"""Casework policy parameters: notice, deadlines, delegation, review intervals, relief limits.

They are ``payments.Standard`` rows (one table for every policy value, with effective dates and
county-over-city precedence) whose component names start with ``casework.`` or ``relief.``.
Where a region has no row, the national default below applies, so a new city needs rows only for
what it does differently.
"""

import datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from config.exceptions import DomainError
from payments.models import Standard

DEFAULTS: dict[str, Decimal] = {
    "casework.notice_days": Decimal("7"),
    # Jiangsu: the township gives its review opinion within 15 working days, the decision
    # follows within 10.
    "casework.review_working_days": Decimal("15"),
    "casework.decision_working_days": Decimal("10"),
    # 1 where the county has delegated approval to the townships.
    "casework.township_approves": Decimal("0"),
    "casework.review_months.stable": Decimal("12"),
    "casework.review_months.able_to_work": Decimal("6"),
    "casework.review_months.other": Decimal("12"),
    "casework.pay_first_document_days": Decimal("10"),
    "casework.gradual_exit_months": Decimal("6"),
    # Temporary relief, in multiples of the monthly dibao standard.
    "relief.township_limit_multiple": Decimal("3"),
    "relief.cap_multiple": Decimal("15"),
    "relief.max_multiple.medical": Decimal("15"),
    "relief.max_multiple.accident": Decimal("12"),
    "relief.max_multiple.disaster": Decimal("12"),
    "relief.max_multiple.schooling": Decimal("2"),
    "relief.max_multiple.other": Decimal("2"),
}

STANDARD_COMPONENT = "standard"


def ancestor_codes(region_code: str) -> list[str]:
    """The 12-digit codes of the province, city, county and township a code belongs to."""
    return [region_code[:n].ljust(12, "0") for n in (2, 4, 6, 9)]


def _value(*, region_code: str, component: str, on: datetime.date, category: str = ""):
    # The most specific region wins (its code is the greatest among the ancestors), then the
    # latest effective date on or before the day.
    return (
        Standard.objects.filter(
            region__code__in=ancestor_codes(region_code),
            component=component,
            category=category,
            effective_from__lte=on,
        )
        .order_by("-region__code", "-effective_from")
        .values_list("value", flat=True)
        .first()
    )


def parameter(*, region_code: str, component: str, on: datetime.date) -> Decimal:
    value = _value(region_code=region_code, component=component, on=on)
    return DEFAULTS[component] if value is None else value


def dibao_standard(*, region_code: str, on: datetime.date) -> Decimal:
    value = _value(region_code=region_code, component=STANDARD_COMPONENT, on=on, category="dibao")
    if value is None:
        raise DomainError(_("本地区尚未设定低保标准。"), code="no_standard")
    return value

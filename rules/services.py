"""Services that maintain policy values (Standard) and the monthly CPI (PriceIndex).

Values are never edited in place: a new value is a new row with its effective date, so the
history of every parameter stays readable and each payment line can name the rows it used.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Region, User
from core import policy
from core.exceptions import Conflict, DomainError
from core.months import first_of_month
from core.scope import covers
from rules.engine import CATEGORIES, ROUNDING_MODES
from rules.models import PriceIndex, Standard
from rules.parameters import CATALOGUE

# Who may change policy values and record the CPI (DOMAIN.md: finance records the month's CPI).
MAINTAINER_ROLES = policy.roles_for("standard", safe=False)
STANDARD_LEVELS = frozenset({Region.Level.PROVINCE, Region.Level.CITY, Region.Level.COUNTY})
# Units that count whole things: a notice of 7.5 days or a grade 2.5 is a typing error.
WHOLE_UNITS = frozenset({"days", "working days", "months", "years", "grade"})


def can_maintain(user: User) -> bool:
    return policy.allows(user, "standard", safe=False)


def _check_maintainer(*, user: User, region: Region) -> None:
    if not can_maintain(user):
        raise PermissionDenied(_("只有财务人员或管理员可以维护保障标准和价格指数"))
    if not covers(user, region.code):
        raise DomainError(_("该地区不在您的管辖范围内"), field="region")


def validate_standard(
    *, region: Region, component: str, category: str, value: Decimal, effective_from: datetime.date
) -> None:
    """The rules a new policy value must meet (also used by the admin form)."""
    if region.level not in STANDARD_LEVELS:
        raise DomainError(_("保障标准只能按省、市或县（区）设定"), field="region")
    if component not in CATALOGUE:
        raise DomainError(_("未知的参数项目"), field="component")
    if category and category not in CATEGORIES:
        raise DomainError(_("未知的保障类别"), field="category")
    if effective_from.day != 1:
        raise DomainError(_("生效日期须为某月1日"), field="effective_from")
    unit = CATALOGUE[component].unit
    if value < 0:
        raise DomainError(_("数值不能为负"), field="value")
    if unit in WHOLE_UNITS and value != int(value):
        raise DomainError(_("该项目须为整数"), field="value")
    minimum, maximum = CATALOGUE[component].minimum, CATALOGUE[component].maximum
    if value < minimum:
        raise DomainError(str(_("该项目不能小于%(minimum)s")) % {"minimum": minimum}, field="value")
    if maximum is not None and value > maximum:
        raise DomainError(str(_("该项目不能大于%(maximum)s")) % {"maximum": maximum}, field="value")
    if unit.startswith("share") and value > 1:
        raise DomainError(_("比例须在0到1之间（如0.65表示65%）"), field="value")
    if component == "rounding_mode" and int(value) not in ROUNDING_MODES:
        raise DomainError(_("取整方式代码无效"), field="value")
    if unit == "0 or 1" and value not in (0, 1):
        raise DomainError(_("该项目只能为0或1"), field="value")
    if value == 0 and component in {"standard", "rounding_quantum"} | {
        name for name, c in CATALOGUE.items() if c.unit == "divisor"
    }:
        raise DomainError(_("该项目须大于0"), field="value")


def add_standard(
    *,
    region: Region,
    component: str,
    value: Decimal,
    effective_from: datetime.date,
    by: User,
    category: str = "",
    note: str = "",
) -> Standard:
    """Record a policy value for a region from a date (finance or admin, within their region).

    A past effective date is accepted and recorded as entered: months already paid at the old
    value are back-paid by the next batch. A second value for the same
    region, component, category and date is refused: enter a new date instead.
    """
    _check_maintainer(user=by, region=region)
    validate_standard(
        region=region,
        component=component,
        category=category,
        value=value,
        effective_from=effective_from,
    )
    try:
        with transaction.atomic():
            return Standard.objects.create(
                region=region,
                component=component,
                category=category,
                value=value,
                effective_from=effective_from,
                note=note,
                created_by=by,
            )
    except IntegrityError:
        raise Conflict(
            _("该地区该项目在此生效日期已有数值；标准不可修改，请以新的生效日期录入"),
            code="standard_exists",
        )


def validate_price_index(*, region: Region, cpi_rise_percent: Decimal) -> None:
    """The rules a CPI figure must meet (also used by the admin form)."""
    if region.level != Region.Level.CITY:
        raise DomainError(_("价格指数按设区市录入"), field="region")
    if not Decimal("-100") < cpi_rise_percent < Decimal("100"):
        raise DomainError(_("CPI涨幅须在-100%到100%之间"), field="cpi_rise_percent")


def record_price_index(
    *, region: Region, month: datetime.date, cpi_rise_percent: Decimal, by: User
) -> PriceIndex:
    """Record a city's CPI rise for a month (finance or admin). The batch of that month pays the
    price subsidy when the rise reaches the trigger. One figure per city and month."""
    _check_maintainer(user=by, region=region)
    validate_price_index(region=region, cpi_rise_percent=cpi_rise_percent)
    try:
        with transaction.atomic():
            return PriceIndex.objects.create(
                region=region,
                month=first_of_month(month),
                cpi_rise_percent=cpi_rise_percent,
                recorded_by=by,
            )
    except IntegrityError:
        raise Conflict(_("该市本月的价格指数已录入"), code="price_index_exists")

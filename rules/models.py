"""Policy values with effective dates (Standard) and the monthly CPI (PriceIndex).

Their tables, and their history events' tables, are named ``payments_standard``,
``payments_priceindex``, … (``db_table``): the names the rows were written under.
"""

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Region
from core.fields import (
    EARLIEST_RECORD,
    STANDARD_CEILING,
    TEXT_MAX,
    LineField,
    NotAfterToday,
    TextField,
    length_check,
    not_before,
)


@pghistory.track(meta={"db_table": "payments_standardevent"})
class Standard(models.Model):
    """One policy value for a city (or county), category and component, in force from a date.

    The value in force for a month is the row with the latest ``effective_from`` on or before the
    month's first day, the county's row winning over the city's. Rows are never edited in place:
    a new value is a new row (a past ``effective_from`` triggers back pay). Components are listed
    in ``rules.parameters``; ``category`` is "" where a component applies to every category.
    """

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="standards", verbose_name=_("地区")
    )
    category = models.CharField(_("类别"), max_length=24, blank=True, default="")
    component = models.CharField(_("项目"), max_length=60)
    value = models.DecimalField(
        _("数值"),
        max_digits=14,
        decimal_places=4,
        validators=[
            MinValueValidator(Decimal("0"), message=_("数值不能小于%(limit_value)s。")),
            MaxValueValidator(STANDARD_CEILING, message=_("数值不能超过%(limit_value)s。")),
        ],
    )
    effective_from = models.DateField(
        _("生效日期"), validators=[not_before(EARLIEST_RECORD), NotAfterToday(days=366)]
    )
    note = LineField(_("依据/说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payments_standard"
        verbose_name = _("保障标准与参数")
        verbose_name_plural = _("保障标准与参数")
        ordering = ["region__code", "component", "category", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "category", "component", "effective_from"],
                name="one_standard_value_per_effective_date",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0, value__lte=STANDARD_CEILING),
                name="standard_value_within_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region.name} {self.component} {self.value} ({self.effective_from})"


@pghistory.track(meta={"db_table": "payments_priceindexevent"})
class PriceIndex(models.Model):
    """A city's monthly CPI rise (percent, year on year), recorded by finance."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="price_indices")
    month = models.DateField(_("月份"), validators=[not_before(EARLIEST_RECORD), NotAfterToday()])
    cpi_rise_percent = models.DecimalField(
        _("CPI涨幅(%)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("-100")), MaxValueValidator(Decimal("100"))],
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payments_priceindex"
        verbose_name = _("价格指数")
        verbose_name_plural = _("价格指数")
        ordering = ["region__code", "month"]
        constraints = [
            models.UniqueConstraint(fields=["region", "month"], name="one_cpi_per_city_month")
        ]


class PriceIndexCorrection(models.Model):
    """A recorded CPI figure found wrong and corrected: the figure before and after, who
    corrected it, why and when. Append-only (on PostgreSQL a trigger refuses UPDATE and DELETE).

    Batches of the month not yet approved are computed again; approved months are back-paid or
    recovered by the next batch (payments.corrections), as for a standard entered late."""

    price_index = models.ForeignKey(
        PriceIndex, on_delete=models.PROTECT, related_name="corrections", verbose_name=_("价格指数")
    )
    cpi_before = models.DecimalField(_("更正前CPI涨幅(%)"), max_digits=6, decimal_places=2)
    cpi_after = models.DecimalField(_("更正后CPI涨幅(%)"), max_digits=6, decimal_places=2)
    reason = TextField(_("更正原因"))
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("更正人"),
    )
    created_at = models.DateTimeField(_("更正时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("价格指数更正")
        verbose_name_plural = _("价格指数更正")
        ordering = ["id"]
        constraints = [
            length_check("reason", TEXT_MAX, name="price_index_correction_reason_length")
        ]
        triggers = [
            pgtrigger.Protect(
                name="price_index_correction_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            )
        ]


@pghistory.track()
class CalendarYear(models.Model):
    """A confirmed year of the working-day calendar (DOMAIN.md "Working days").

    Its public holidays and make-up working days (调休) are entered in full, from the State
    Council's notice, as its ``periods``; seeded years come from the chinese-calendar package,
    which transcribes those notices. A year without a row is not confirmed: deadlines in it
    count Monday to Friday and are shown as provisional (``core.workdays``).
    """

    year = models.PositiveSmallIntegerField(_("年份"), primary_key=True)
    source = LineField(_("依据"), max_length=200)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("录入时间"), auto_now=True)

    class Meta:
        verbose_name = _("节假日安排（年度）")
        verbose_name_plural = _("节假日安排（年度）")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class CalendarPeriod(models.Model):
    """One line of a year's notice: days off (放假) or a make-up working day (调休上班),
    from ``first_day`` to ``last_day`` inclusive."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        WORKDAY = "workday", _("调休上班")

    year = models.ForeignKey(
        CalendarYear, on_delete=models.CASCADE, related_name="periods", verbose_name=_("年份")
    )
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    first_day = models.DateField(_("起始日期"))
    last_day = models.DateField(_("截止日期"))
    name = LineField(_("节日"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("放假调休安排")
        verbose_name_plural = _("放假调休安排")
        ordering = ["first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_day__lte=models.F("last_day")),
                name="calendar_period_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.get_kind_display()} {self.first_day}–{self.last_day}"

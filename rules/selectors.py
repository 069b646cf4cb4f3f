"""Reads of policy values: the CPI recorded for a month, the standards a user may see."""

import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from beneficiaries.models import User
from core.months import first_of_month
from rules.models import PriceIndex, Standard
from rules.parameters import region_chain


def cpi_rise_for(*, region_code: str, month: datetime.date) -> Decimal | None:
    """The city's recorded CPI rise for the month, or None when none was recorded."""
    return (
        PriceIndex.objects.filter(
            region__code=region_code[:4].ljust(12, "0"), month=first_of_month(month)
        )
        .values_list("cpi_rise_percent", flat=True)
        .first()
    )


def _visible_regions(user: User) -> Q:
    """Rows of the user's subtree and of the regions above it (whose values apply to it)."""
    prefix = user.region_prefix
    above = region_chain(user.region.code) if user.region_id else []
    return Q(region__code__startswith=prefix) | Q(region__code__in=above)


def standards_visible_to(*, user: User) -> QuerySet:
    return Standard.objects.filter(_visible_regions(user)).select_related("region")


def price_indices_visible_to(*, user: User) -> QuerySet:
    return PriceIndex.objects.filter(_visible_regions(user)).select_related("region")

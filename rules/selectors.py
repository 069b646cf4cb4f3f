"""Reads of policy values: the CPI recorded for a month, the standards a user may see, and an
explanation put into words with the Standard rows it names."""

import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import translation

from beneficiaries.models import User
from core.months import first_of_month
from rules.models import PriceIndex, Standard
from rules.parameters import region_chain
from rules.steps import Source, language, render


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


def standard_sources(ids: Iterable[int]) -> dict[int, Source]:
    """Standard rows by id, as an explanation names them (value, effective date): one query."""
    ids = {vid for vid in ids if vid}
    if not ids:
        return {}
    rows = Standard.objects.filter(pk__in=ids).values_list("pk", "value", "effective_from")
    return {pk: Source(value, effective_from) for pk, value, effective_from in rows}


def render_explanation(
    *,
    amount,
    steps: Sequence[Mapping],
    versions: Mapping[str, int],
    lang: str | None = None,
    sources: Mapping[int, Source] | None = None,
) -> dict:
    """An explanation's steps in words (rules.steps.render), in ``lang`` (by default the active
    language: Chinese, or English for ``?lang=en`` / ``Accept-Language: en``), with the date
    each parameter used took effect. ``sources`` spares the query when a caller read the rows
    of many explanations at once."""
    if sources is None:
        sources = standard_sources(versions.values())
    lang = lang or language(translation.get_language())
    return render(amount=amount, steps=steps, versions=versions, sources=sources, lang=lang)

"""Resolving the parameters in force, the seed loader and the catalogue's documentation."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from rules.engine import MissingParameter
from rules.models import Standard
from rules.parameters import (
    CATALOGUE,
    catalogue_markdown,
    load_standards,
    resolve_parameters,
)

AUG_2024 = datetime.date(2024, 8, 1)


def add(region, component, value, effective_from, category=""):
    return Standard.objects.create(
        region=region,
        component=component,
        category=category,
        value=Decimal(value),
        effective_from=datetime.date.fromisoformat(effective_from),
    )


def test_latest_value_in_force_wins(regions):
    add(regions["zhenjiang"], "standard", "840", "2023-07-01")
    newer = add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("standard") == Decimal("875")
    assert params.version("standard") == newer.pk


def test_a_month_before_a_change_keeps_the_old_value(regions):
    older = add(regions["zhenjiang"], "standard", "840", "2023-07-01")
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    params = resolve_parameters(region_code="321102001001", month=datetime.date(2024, 6, 15))
    assert params.value("standard") == Decimal("840")
    assert params.version("standard") == older.pk


def test_value_entered_later_with_a_past_date_applies_to_the_past_months(regions):
    add(regions["zhenjiang"], "standard", "840", "2023-07-01")
    july = resolve_parameters(region_code="321102001001", month=datetime.date(2024, 7, 1))
    assert july.value("standard") == Decimal("840")
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    again = resolve_parameters(region_code="321102001001", month=datetime.date(2024, 7, 1))
    assert again.value("standard") == Decimal("875")


def test_county_value_beats_city_value_even_when_older(regions):
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    county = add(regions["jingkou"], "standard", "900", "2024-01-01")
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("standard") == Decimal("900")
    assert params.version("standard") == county.pk


def test_county_value_does_not_reach_another_county(regions):
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    add(regions["jingkou"], "standard", "900", "2024-01-01")
    params = resolve_parameters(region_code="321111001001", month=AUG_2024)
    assert params.value("standard") == Decimal("875")


def test_county_value_not_yet_in_force_leaves_the_city_value(regions):
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    add(regions["jingkou"], "standard", "900", "2024-09-01")
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("standard") == Decimal("875")


def test_category_value_beats_general_value_for_that_category_only(regions):
    add(regions["zhenjiang"], "tekun_multiplier", "1.3", "2023-07-01")
    add(regions["zhenjiang"], "tekun_multiplier", "1.5", "2023-07-01", category="tekun")
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("tekun_multiplier", "tekun") == Decimal("1.5")
    assert params.value("tekun_multiplier") == Decimal("1.3")


def test_components_without_rows_take_the_national_default(regions):
    add(regions["zhenjiang"], "standard", "875", "2024-07-01")
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("tekun_multiplier") == Decimal("1.3")
    assert params.version("tekun_multiplier") == 0
    assert params.value("marginal_multiplier") == Decimal("1.5")


def test_a_missing_standard_is_an_error_not_zero(regions):
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    with pytest.raises(MissingParameter):
        params.value("standard")


def test_load_standards_twice_creates_the_rows_once(regions):
    created = load_standards()
    assert created > 0
    count = Standard.objects.count()
    assert load_standards() == 0
    assert Standard.objects.count() == count == created
    params = resolve_parameters(region_code="321102001001", month=AUG_2024)
    assert params.value("standard") == Decimal("875")
    assert params.value("orphan_institution_amount") == Decimal("3132")


def test_load_standards_creates_the_cities_when_missing(db):
    load_standards()
    params = resolve_parameters(region_code="320402001001", month=AUG_2024)
    assert params.value("standard") == Decimal("1020")
    assert (
        params.versions_used["standard"]
        == Standard.objects.get(region__code="320400000000", component="standard").pk
    )


def test_docs_list_every_component_and_are_up_to_date():
    text = (Path(settings.BASE_DIR) / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert text == catalogue_markdown()
    for name in CATALOGUE:
        assert f"`{name}`" in text

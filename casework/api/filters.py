"""Casework's filters on the registry lists: households and members covered under a category.

``add_registry_filters`` adds them to the registry's filter sets (beneficiaries.api.filters),
which know nothing of enrolments; ``CaseworkConfig.ready`` calls it.
"""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from beneficiaries.api.filters import HouseholdFilter, MemberFilter
from casework.models import Category, Enrolment

OPEN_ENROLMENT = ("active", "gradual_exit", "suspended")


def households_covered(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Households with an open enrolment under the category."""
    enrolments = Enrolment.objects.filter(
        household=OuterRef("pk"), category=value, status__in=OPEN_ENROLMENT
    )
    return queryset.filter(Exists(enrolments))


def members_covered(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """Members covered under the category: by their own enrolment or their household's."""
    own = Enrolment.objects.filter(member=OuterRef("pk"), category=value, status__in=OPEN_ENROLMENT)
    household = Enrolment.objects.filter(
        household=OuterRef("household_id"),
        member__isnull=True,
        category=value,
        status__in=OPEN_ENROLMENT,
    )
    return queryset.filter(Exists(own) | Exists(household))


def _category_filter(method) -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(
        choices=Category.choices, method=method, label=_("保障类别(在保)")
    )


def add_registry_filters() -> None:
    """``?category=`` on the household and member lists."""
    HouseholdFilter.base_filters["category"] = _category_filter(households_covered)
    MemberFilter.base_filters["category"] = _category_filter(members_covered)

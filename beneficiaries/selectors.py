"""Reads of the registry."""

import datetime
from collections.abc import Iterable

from beneficiaries.models import Member, MemberCondition

# What a member's condition holds, in this order (MemberCondition).
CONDITION_FIELDS = ("serious_illness", "disability_grade", "disability_category", "care_level")


def active_membership(id_number: str) -> Member | None:
    """The membership in which this person (ID number) is currently active, if any."""
    return (
        Member.objects.select_related("household__village")
        .filter(id_number=id_number, is_active=True)
        .first()
    )


def conditions_in_force(
    *, member_ids: Iterable[int], month: datetime.date
) -> dict[int, tuple[bool, int | None, str, str]]:
    """Member id → the condition in force in the month (``CONDITION_FIELDS``): each member's row
    with the latest effective month on or before it. Members with no row are absent (their facts
    are on the Member row in every month)."""
    ids = list(member_ids)
    if not ids:
        return {}
    rows = (
        MemberCondition.objects.filter(member_id__in=ids, effective_month__lte=month)
        .order_by("member_id", "-effective_month")
        .values_list("member_id", *CONDITION_FIELDS)
    )
    found: dict[int, tuple[bool, int | None, str, str]] = {}
    for member_id, *condition in rows:
        found.setdefault(member_id, tuple(condition))
    return found

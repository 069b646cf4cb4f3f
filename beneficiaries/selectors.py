"""Reads of the registry."""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from beneficiaries.models import Household, Member, MemberCondition
from core.idnumbers import normalize_resident_id
from core.scope import scope

_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
_HOUSEHOLD_NUMBER = re.compile(r"#?([0-9]{1,12})")
# An address is searched for three characters or more: the trigram index (pg_trgm, migration
# 0005) cannot find fewer, and one or two characters are a name, or a street of thousands.
ADDRESS_MIN_LENGTH = 3
# What a member's condition holds, in this order (MemberCondition).
CONDITION_FIELDS = ("serious_illness", "disability_grade", "disability_category", "care_level")


def active_membership(id_number: str) -> Member | None:
    """The membership in which this person (ID number) is currently active, if any."""
    return (
        Member.objects.select_related("household__village")
        .filter(id_number=id_number, is_active=True)
        .first()
    )


@dataclass(frozen=True)
class SearchPage:
    """One page of a household search, in household number order."""

    households: list[Household]
    # The cursors of the neighbouring pages (a household number), None where there is none.
    after: int | None
    before: int | None
    kind: str


def classify_query(query: str) -> tuple[str, str]:
    """What a search box's text is: ("id_number", the ID as stored), ("household", the number),
    or ("text", the text) matched against members' names and the address."""
    number = normalize_resident_id(query)
    if _ID_NUMBER.fullmatch(number):
        return "id_number", number
    household = _HOUSEHOLD_NUMBER.fullmatch(number)
    if household:
        return "household", household.group(1)
    return "text", " ".join(query.split())


def search_households(
    *, user, query: str, after: int | None = None, before: int | None = None, size: int = 20
) -> SearchPage:
    """Households of the user's subtree that a search box's text finds, ``size`` at a time by
    household number (keyset: ``after`` / ``before`` a number, never an offset).

    A resident ID finds the household the person is (or was) a member of, a number the
    household with that number, other text the households with an active member whose name
    starts with it or (three characters or more) whose address contains it. Each is one
    indexed read: the ID's index, the primary key, the active names' prefix index
    (``member_active_name``, which holds the household id) with each household's region code
    read from ``household_id_region``, the address's trigram index (``household_address_trgm``).
    """
    kind, value = classify_query(query)
    households = scope(Household.objects.all(), user=user)
    if kind == "id_number":
        sources = [households.filter(members__id_number=value)]
    elif kind == "household":
        sources = [households.filter(pk=int(value))]
    else:
        sources = [households.filter(members__is_active=True, members__name__startswith=value)]
        if len(value) >= ADDRESS_MIN_LENGTH:
            sources.append(households.filter(address__icontains=value))
    backwards = before is not None and after is None
    ids: set[int] = set()
    for source in sources:
        ids.update(_page_ids(source, after=after, before=before, size=size + 1))
    ordered = sorted(ids, reverse=backwards)[: size + 1]
    more = len(ordered) > size
    ordered = sorted(ordered[:size])
    found = {
        household.pk: household
        for household in Household.objects.filter(pk__in=ordered).select_related("village", "head")
    }
    page = [found[pk] for pk in ordered]
    if not page:
        return SearchPage([], None, None, kind)
    first, last = page[0].pk, page[-1].pk
    if backwards:
        return SearchPage(page, last, first if more else None, kind)
    return SearchPage(page, last if more else None, first if after is not None else None, kind)


def _page_ids(source: QuerySet, *, after: int | None, before: int | None, size: int) -> list[int]:
    if after is not None:
        source = source.filter(pk__gt=after).order_by("pk")
    elif before is not None:
        source = source.filter(pk__lt=before).order_by("-pk")
    else:
        source = source.order_by("pk")
    return list(source.values_list("pk", flat=True).distinct()[:size])


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

"""Reads of the registry, and the region scoping every app applies to every query.

A user sees the subtree of their region: every record carries the 12-digit ``region_code`` of its
village, and the subtree is ``region_code LIKE '<prefix>%'`` (one indexed prefix match, no join).
"""

from django.db.models import QuerySet

from beneficiaries.models import Member


def scope(queryset: QuerySet, *, user, field: str = "region_code") -> QuerySet:
    """Only the rows of ``queryset`` inside the user's region subtree.

    ``field`` names the 12-digit region code to match (``"household__region_code"`` for rows that
    reach it through a relation, ``"code"`` for regions). An anonymous user sees nothing; a
    superuser without a region sees everything (``region_prefix`` is ``""``).
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(**{f"{field}__startswith": user.region_prefix})


def covers(user, region_code: str) -> bool:
    """Whether ``region_code`` lies in the user's subtree (the same rule as :func:`scope`)."""
    return getattr(user, "is_authenticated", False) and region_code.startswith(user.region_prefix)


def active_membership(id_number: str) -> Member | None:
    """The membership in which this person (ID number) is currently active, if any."""
    return (
        Member.objects.select_related("household__village")
        .filter(id_number=id_number, is_active=True)
        .first()
    )

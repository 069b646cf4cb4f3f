"""Region scope, applied by every app to every query.

A user sees the subtree of their region: every record carries the 12-digit ``region_code`` of its
village, and the subtree is ``region_code LIKE '<prefix>%'`` (one indexed prefix match, no join).
"""

from django.db.models import QuerySet


def scope(queryset: QuerySet, *, user, field: str = "region_code") -> QuerySet:
    """Only the rows of ``queryset`` inside the user's region subtree.

    ``field`` names the 12-digit region code to match (``"household__region_code"`` for rows that
    reach it through a relation, ``"code"`` for regions). An anonymous user and a user without a
    region see nothing.
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(**{f"{field}__startswith": user.region_prefix})


def covers(user, region_code: str) -> bool:
    """Whether ``region_code`` lies in the user's subtree (the same rule as :func:`scope`)."""
    return getattr(user, "is_authenticated", False) and region_code.startswith(user.region_prefix)

"""Reads of the registry."""

from beneficiaries.models import Member


def active_membership(id_number: str) -> Member | None:
    """The membership in which this person (ID number) is currently active, if any."""
    return (
        Member.objects.select_related("household__village")
        .filter(id_number=id_number, is_active=True)
        .first()
    )

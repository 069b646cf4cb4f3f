"""What the casework pages share: the roles, the scoped lookups, domain errors shown on forms."""

from django import forms
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from core.exceptions import DomainError
from core.roles import Role
from core.scope import scope

CASEWORKERS = frozenset({Role.CASEWORKER})


def scoped(queryset: QuerySet, *, user, pk: int, field: str = "region_code") -> Model:
    """The row ``pk`` of ``queryset`` inside the user's subtree; a 404 outside it."""
    return get_object_or_404(scope(queryset, user=user, field=field), pk=pk)


def show_error(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the form: beside its field, or above the form when the field is
    not one of the form's (or the refusal names none)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def applicant_name(application) -> str:
    """Whom an application is for: the member of a one-person category, else the head."""
    person = application.member or application.household.head
    return person.name if person else ""

"""Building blocks every app's API uses: scoped viewsets and related fields, masked IDs, paging.

* :class:`ScopedViewSetMixin` scopes ``get_queryset`` to the user's region subtree (so a record
  outside it is a 404); the view's ``resource`` names its rule in :mod:`core.policy`, which
  :class:`core.permissions.PolicyPermission` (the API's default permission) applies.
* :class:`ScopedPrimaryKeyRelatedField` accepts only ids inside the user's subtree: an input that
  names another township's household is "object does not exist", never a hint that it does.
* :class:`ScopedFilterBackend` (the API's default filter backend) limits every filter that names
  a record (``?household=``, ``?batch=``) to the records of the user's subtree, so an id outside
  it answers exactly like an id that does not exist.
* :class:`ResidentIdField` masks resident IDs for grid workers.
"""

from functools import partial

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from core.idnumbers import mask_resident_id
from core.permissions import PolicyPermission, visible_id_number
from core.scope import scope
from core.service_scopes import ServiceScopePermission


class StandardPagination(PageNumberPagination):
    """``?page=N`` and ``?page_size=M`` (at most 500). A view that knows how many rows its list
    holds (counted once elsewhere) sets ``known_count`` and the list is not counted again."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        known = getattr(view, "known_count", None)
        self.django_paginator_class = (
            Paginator if known is None else partial(CountedPaginator, known_count=known)
        )
        return super().paginate_queryset(queryset, request, view)


class CountedPaginator(Paginator):
    """A paginator told its count instead of counting the query."""

    def __init__(self, object_list, per_page, *, known_count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.known_count = known_count

    @cached_property
    def count(self) -> int:
        return self.known_count


def request_user(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


def scope_field_of(model) -> str | None:
    """The field holding a model's 12-digit region code (``scope_field`` when it declares one),
    or None for a model that belongs to no region."""
    declared = getattr(model, "scope_field", None)
    if declared:
        return declared
    for name, lookup in (("region_code", "region_code"), ("region", "region__code")):
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        return lookup
    return None


class ScopedFilterBackend(DjangoFilterBackend):
    """django-filter, with each filter's choices of records scoped to the user's subtree."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        for a_filter in getattr(filterset, "filters", {}).values():
            choices = getattr(a_filter, "queryset", None)
            field = isinstance(choices, QuerySet) and scope_field_of(choices.model)
            if field:
                a_filter.queryset = scope(choices, user=request.user, field=field)
        return filterset


class ScopedViewSetMixin:
    """Region scope and the access rule for a viewset; ``scope_field`` names the region code,
    ``resource`` the rule."""

    permission_classes = [ServiceScopePermission, PolicyPermission]
    pagination_class = StandardPagination
    scope_field = "region_code"
    resource: str

    def get_queryset(self):
        return scope(super().get_queryset(), user=self.request.user, field=self.scope_field)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key input limited to the requesting user's subtree."""

    def __init__(self, *, scope_field: str = "region_code", **kwargs):
        self.scope_field = scope_field
        super().__init__(**kwargs)

    def get_queryset(self):
        return scope(
            super().get_queryset(), user=request_user(self.context), field=self.scope_field
        )


class ResidentIdField(serializers.CharField):
    """A resident ID as the requesting user may see it: masked for grid workers, and masked when
    no user is known (a serializer used outside a request must not leak full IDs)."""

    def to_representation(self, value):
        user = request_user(self.context)
        if user is None:
            return mask_resident_id(value)
        return visible_id_number(user, value)

"""Building blocks every app's API uses: scoped viewsets and related fields, masked IDs, paging.

* :class:`ScopedViewSetMixin` scopes ``get_queryset`` to the user's region subtree (so a record
  outside it is a 404) and checks the view's ``read_roles`` / ``write_roles``.
* :class:`ScopedPrimaryKeyRelatedField` accepts only ids inside the user's subtree: an input that
  names another township's household is "object does not exist", never a hint that it does.
* :class:`ResidentIdField` masks resident IDs for grid workers.
"""

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated

from core.idnumbers import mask_resident_id
from core.permissions import RolePermission, visible_id_number
from core.scope import scope
from core.service_scopes import ServiceScopePermission


class StandardPagination(PageNumberPagination):
    """``?page=N`` and ``?page_size=M`` (at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def request_user(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


class ScopedViewSetMixin:
    """Region scope and role checks for a viewset; ``scope_field`` names the region code."""

    permission_classes = [IsAuthenticated, ServiceScopePermission, RolePermission]
    pagination_class = StandardPagination
    scope_field = "region_code"
    read_roles: frozenset = frozenset()
    write_roles: frozenset = frozenset()

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

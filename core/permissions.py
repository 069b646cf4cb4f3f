"""Who may read and write what: roles, for the API (DRF) and the Django admin, in every app.

Two independent rules, both applied everywhere:

* **Region scope** — a user sees only records inside their region subtree
  (:func:`core.scope.scope`). Out-of-scope records do not exist for them: 404,
  never 403, so an identifier cannot be probed.
* **Role** — what a role may do with the records it sees. A view (or ModelAdmin) names the roles
  that may read it and the roles that may write it; :class:`RolePermission` and
  :class:`core.admin.ScopedAdminMixin` enforce them. Superusers may do everything.

Who reads and writes the registry:

* caseworkers (乡镇经办人) and administrators read and write the registry of their subtree;
* county approvers and finance officers read it (approvals and bank files need it);
* auditors read everything in their region and write nothing (403 on every write);
* grid workers (网格员) get no access to the registry: they see only the candidates they flagged,
  which are casework referrals; wherever a resident ID reaches them it is masked
  (:func:`visible_id_number`, used by :class:`core.api.ResidentIdField`);
* administrators manage the users of their subtree.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.idnumbers import mask_resident_id
from core.roles import Role

REGISTRY_READERS = frozenset(
    {Role.CASEWORKER, Role.COUNTY_APPROVER, Role.FINANCE, Role.AUDITOR, Role.ADMIN}
)
REGISTRY_WRITERS = frozenset({Role.CASEWORKER, Role.ADMIN})
# Regions are reference data every role needs to name places; only superusers change them.
EVERY_ROLE = frozenset(Role)
USER_MANAGERS = frozenset({Role.ADMIN})


def has_role(user, roles) -> bool:
    """Whether an authenticated user holds one of ``roles`` (superusers hold them all)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.role in roles


def sees_masked_ids(user) -> bool:
    """Grid workers see resident IDs masked (3211**********1234), everywhere."""
    return not getattr(user, "is_superuser", False) and (
        getattr(user, "role", None) == Role.GRID_WORKER
    )


def visible_id_number(user, number: str) -> str:
    """The resident ID as this user may see it."""
    return mask_resident_id(number) if sees_masked_ids(user) else number


class RolePermission(BasePermission):
    """Allows a request when the user's role is in the view's ``read_roles`` (safe methods) or
    ``write_roles`` (everything else). A view without ``write_roles`` is read-only for all roles.

    Use on any app's views::

        class EnrolmentViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
            read_roles = REGISTRY_READERS
            write_roles = frozenset({Role.CASEWORKER})
    """

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            roles = getattr(view, "read_roles", frozenset())
        else:
            roles = getattr(view, "write_roles", frozenset())
        return has_role(request.user, roles)

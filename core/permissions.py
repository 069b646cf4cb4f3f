"""The one access rule applied to the API, and what a role sees of a resident ID.

The rule itself is the table in :mod:`core.policy`: which roles read and which write each
resource, always inside the user's region subtree. :class:`PolicyPermission` applies it to every
API view, which names its ``resource``; a refusal is a 403 with the reason in the request's
language. Region scope is applied by the views' querysets (:func:`core.scope.scope`): a record
outside the subtree does not exist for the user (404, never 403), so an id cannot be probed.

Wherever a resident ID reaches a grid worker it is masked (:func:`visible_id_number`, used by
:class:`core.api.ResidentIdField`).
"""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import policy
from core.idnumbers import mask_resident_id
from core.policy import EVERY_ROLE, REGISTRY_READERS, REGISTRY_WRITERS
from core.roles import Role

__all__ = [
    "EVERY_ROLE",
    "REGISTRY_READERS",
    "REGISTRY_WRITERS",
    "USER_MANAGERS",
    "PolicyPermission",
    "has_role",
    "sees_masked_ids",
    "visible_id_number",
]

USER_MANAGERS = policy.ADMIN


def has_role(user, roles) -> bool:
    """Whether an active user with a region holds one of ``roles`` (see :mod:`core.policy`)."""
    return policy.refusal_for_roles(user, roles) is None


def sees_masked_ids(user) -> bool:
    """Grid workers see resident IDs masked (3211**********1234), everywhere."""
    return getattr(user, "role", None) == Role.GRID_WORKER


def visible_id_number(user, number: str) -> str:
    """The resident ID as this user may see it."""
    return mask_resident_id(number) if sees_masked_ids(user) else number


def view_action(view) -> str | None:
    """The action the policy looks up: a viewset's action, or an API view's ``policy_action``."""
    return getattr(view, "policy_action", None) or getattr(view, "action", None)


class PolicyPermission(BasePermission):
    """Applies :mod:`core.policy` to the view's ``resource`` (a view without one is refused).

    Use on any app's views (``core.api.ScopedViewSetMixin`` and ``core.api.PolicyAPIView``
    already do)::

        class EnrolmentViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
            resource = "enrolment"
    """

    def has_permission(self, request, view) -> bool:
        resource = getattr(view, "resource", None)
        if resource is None:
            raise PermissionDenied(policy.WRONG_ROLE)
        reason = policy.refusal(
            request.user,
            resource,
            action=view_action(view),
            safe=request.method in SAFE_METHODS,
        )
        if reason == "":
            return False  # not signed in: DRF answers 401 or 403 "not authenticated"
        if reason is not None:
            raise PermissionDenied(reason)
        return True


# The name views used before the policy table; a view still needs a ``resource``.
RolePermission = PolicyPermission

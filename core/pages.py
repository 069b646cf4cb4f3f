"""Who may open a page: the one access rule (``core.policy``), checked on every request to it.

Here rather than in ``web`` because every app's pages use it (casework's sit below ``web`` in the
layers); ``web.access`` builds the navigation and the admin's rule on it.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from core import policy
from core.service_scopes import is_service_account

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PAGE_REFUSED = _("您的角色不能使用此页面。")


def page(
    *, roles: Iterable[str] | None = None, resource: str | None = None, write: bool = False
) -> Callable:
    """Decorate a page view with its rule: ``resource`` (a name in ``core.policy``) or ``roles``."""
    if (roles is None) == (resource is None):
        raise TypeError("page() takes either roles= or resource=")
    if resource is not None:
        read = policy.roles_for(resource, safe=not write)
        writers = policy.roles_for(resource, safe=False)
    else:
        read = writers = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            allowed = read if request.method in SAFE_METHODS else writers
            reason = policy.refusal_for_roles(request.user, allowed, message=PAGE_REFUSED)
            if reason == "":
                return redirect_to_login(request.get_full_path())
            if reason is None and is_service_account(request.user):
                reason = str(PAGE_REFUSED)  # a partner system's account never uses the pages
            if reason is not None:
                raise PermissionDenied(reason)
            return view(request, *args, **kwargs)

        guarded.page_roles = read
        guarded.page_write_roles = writers
        guarded.page_resource = resource
        return guarded

    return decorate

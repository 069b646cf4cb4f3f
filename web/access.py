"""Who may open which page: the roles a page names, checked on every request to it.

* A page view is wrapped by :func:`page`: an anonymous visitor is sent to the sign-in page, a
  signed-in user whose role the page does not name gets the 403 page (in the user's language).
  The roles are kept on the view (``view.page_roles``), so the navigation asks the view itself
  (:func:`may_open`) and never keeps a second list.
* The Django admin is for administrators (role admin) and superusers only:
  :class:`AdminOnlyMiddleware` answers 403 to every other signed-in user on every admin URL.
* A service account (``core.service_scopes``) opens no page and no admin page, whatever its
  role: it cannot sign in, and a session that names it gets the 403 page.
* Records stay scoped to the user's region subtree by the selectors a page reads through
  (``core.scope.scope``): a record outside it is a 404, as in the API.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.translation import gettext as _

from core.permissions import has_role
from core.roles import Role
from core.service_scopes import is_service_account

ADMIN_ROLES = frozenset({Role.ADMIN})


def page(*, roles: Iterable[str]) -> Callable:
    """Decorate a page view with the roles that may open it."""
    allowed = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if is_service_account(request.user) or not has_role(request.user, allowed):
                raise PermissionDenied(_("您的角色不能使用此页面。"))
            return view(request, *args, **kwargs)

        guarded.page_roles = allowed
        return guarded

    return decorate


def may_open(user, url_name: str, *args) -> bool:
    """Whether ``user`` may open the page named ``url_name`` (a view without roles: nobody)."""
    try:
        view = resolve(reverse(url_name, args=args)).func
    except NoReverseMatch:
        return False
    return not is_service_account(user) and has_role(user, getattr(view, "page_roles", frozenset()))


def may_use_admin(user) -> bool:
    return not is_service_account(user) and has_role(user, ADMIN_ROLES)


class AdminOnlyMiddleware:
    """403 on the Django admin for every signed-in user who is not an administrator.

    Anonymous visitors still reach the admin's own sign-in page; once signed in, a caseworker
    is refused here rather than sent back to that page in a loop.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            match is not None
            and "admin" in match.namespaces
            and request.user.is_authenticated
            and not may_use_admin(request.user)
        ):
            raise PermissionDenied(_("系统管理仅供管理员使用。"))
        return None

"""Who may open which page: the one access rule (``core.policy``), checked on every request.

* A page view is wrapped by ``core.pages.page`` (in ``core``, so that every app's pages can use it),
  named by its ``resource`` in ``core.policy`` (a GET
  needs the resource's read roles, a POST its write roles; ``write=True`` for a page that only
  writes, such as a form to register something) or, for a page with no resource of its own, by
  ``roles``. An anonymous visitor is sent to the sign-in page; a user the rule refuses gets the
  403 page with the reason in the user's language (a user without a region is told to ask an
  administrator for one). The roles that may open it are kept on the view
  (``view.page_roles``), so the navigation asks the view itself (:func:`may_open`).
* The Django admin is for administrators (role admin, with a region) only:
  :class:`AdminOnlyMiddleware` answers 403 to every other signed-in user on every admin URL, and
  each admin page applies the same table (``core.admin.PolicyAdminMixin``).
* A service account (``core.service_scopes``) opens no page and no admin page, whatever its
  role: it cannot sign in, and a session that names it gets the 403 page.
* Records stay scoped to the user's region subtree by the selectors a page reads through
  (``core.scope.scope``): a record outside it is a 404, as in the API.
"""

from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, resolve, reverse
from django.utils.translation import gettext_lazy as _

from core import policy
from core.permissions import has_role
from core.service_scopes import is_service_account

__all__ = ["AdminOnlyMiddleware", "may_open", "may_use_admin"]


def may_open(user, url_name: str, *args) -> bool:
    """Whether ``user`` may open the page named ``url_name`` (a view without a rule: nobody)."""
    try:
        view = resolve(reverse(url_name, args=args)).func
    except NoReverseMatch:
        return False
    return not is_service_account(user) and has_role(user, getattr(view, "page_roles", frozenset()))


def may_use_admin(user) -> bool:
    return not is_service_account(user) and policy.allows(user, "admin-site")


ADMIN_REFUSED = _("系统管理仅供管理员使用。")


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
        if match is not None and "admin" in match.namespaces and request.user.is_authenticated:
            reason = policy.refusal_for_roles(
                request.user, policy.roles_for("admin-site"), message=ADMIN_REFUSED
            )
            if reason:
                raise PermissionDenied(reason)
        return None

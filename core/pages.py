"""Who may open a page: the roles a page view names, checked on every request to it.

Here rather than in ``web`` because every app's pages use it (casework's sit below ``web`` in the
layers); ``web.access`` builds the navigation and the admin's rule on it.

* An anonymous visitor is sent to the sign-in page; a signed-in user whose role the page does
  not name gets the 403 page (in the user's language).
* The roles are kept on the view (``view.page_roles``), so the navigation asks the view itself
  (``web.access.may_open``) and never keeps a second list.
"""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from core.permissions import has_role


def page(*, roles: Iterable[str]) -> Callable:
    """Decorate a page view with the roles that may open it."""
    allowed = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, allowed):
                raise PermissionDenied(_("您的角色不能使用此页面。"))
            return view(request, *args, **kwargs)

        guarded.page_roles = allowed
        return guarded

    return decorate

"""Who may act on a case: a casework action is open to the roles it names, inside their region."""

from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core.exceptions import Conflict, Forbidden
from core.scope import covers


def require(*, user: User, roles: set[str], region_code: str) -> None:
    if user.role not in roles:
        raise Forbidden(_("您的角色不能办理此事项。"), code="role")
    if not covers(user, region_code):
        raise Conflict(_("该事项不在您的辖区内。"), code="scope")

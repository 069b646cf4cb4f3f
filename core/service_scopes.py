"""What a service account (服务账号) may call: its scopes, each a set of API routes.

A service account is a partner system's principal (the economic-checking centre, the bank, a
provincial platform): a user row that holds one region and a list of scopes, signs in to no page
and no admin, and calls the API with a token. Three rules apply to each of its calls:

* **Scope** — the route (URL name × HTTP method) must be named by one of its scopes, else 403.
  :class:`ServiceScopePermission` checks it on every API view, after authentication and before
  the view runs. People are not concerned by this step: their role decides, as before.
* **Role** — the account acts with the role its scopes need (:func:`role_for`), so the role checks
  of the views and services apply to it as to a person of that role.
* **Region** — it sees its region's subtree only (``core.scope``): a record outside is a 404.

A route is keyed by its URL name, as the routers name them (``batch-list``, ``batch-detail``,
``batch-return-file``), so a check can be read beside the URL conf and a new route is closed to
every service account until a scope names it.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from core.roles import Role


class ServiceScope(models.TextChoices):
    ECONOMIC_CHECK_UPLOAD = "economic_check.upload", _("上传经济状况核对结果(收入、财产)")
    BANK_RETURN_UPLOAD = "bank_return.upload", _("上传银行回盘文件")
    BATCH_TOTALS_READ = "batch_totals.read", _("读取月度发放批次及其汇总")


@dataclass(frozen=True)
class ScopeRule:
    """The roles an account with this scope may act with (preferred first), and its routes."""

    roles: tuple[str, ...]
    routes: frozenset[tuple[str, str]]


RULES: dict[str, ScopeRule] = {
    # The checking centre finds a household by a member's resident ID, then records the incomes
    # and assets it found; it changes nothing else in the registry.
    ServiceScope.ECONOMIC_CHECK_UPLOAD: ScopeRule(
        roles=(Role.CASEWORKER,),
        routes=frozenset(
            {
                ("household-list", "GET"),
                ("household-detail", "GET"),
                ("member-list", "GET"),
                ("income-list", "GET"),
                ("income-list", "POST"),
                ("asset-list", "GET"),
                ("asset-list", "POST"),
            }
        ),
    ),
    # The bank finds the exported batch and sends its return file; it approves nothing.
    ServiceScope.BANK_RETURN_UPLOAD: ScopeRule(
        roles=(Role.FINANCE,),
        routes=frozenset(
            {("batch-list", "GET"), ("batch-detail", "GET"), ("batch-return-file", "POST")}
        ),
    ),
    # A platform reads each month's batches and their totals by category and by district.
    ServiceScope.BATCH_TOTALS_READ: ScopeRule(
        roles=(Role.AUDITOR, Role.FINANCE),
        routes=frozenset({("batch-list", "GET"), ("batch-detail", "GET"), ("batch-review", "GET")}),
    ),
}


def role_for(scopes) -> str | None:
    """The one role that serves every scope in ``scopes`` (preferring the first scope's order),
    or None when they need different roles (then they belong to two accounts)."""
    scopes = list(scopes)
    if not scopes:
        return None
    common = set(RULES[scopes[0]].roles)
    for scope in scopes[1:]:
        common &= set(RULES[scope].roles)
    return next((role for role in RULES[scopes[0]].roles if role in common), None)


def allows(scopes, *, url_name: str | None, method: str) -> bool:
    """Whether one of ``scopes`` names the route ``url_name`` with ``method`` (HEAD as GET)."""
    method = "GET" if method == "HEAD" else method
    return any((url_name, method) in RULES[scope].routes for scope in scopes if scope in RULES)


def is_service_account(user) -> bool:
    return getattr(user, "is_service_account", False)


class ServiceScopePermission(BasePermission):
    """A service account may call only the routes its scopes name (403 otherwise).

    A separate step beside the role check: it says nothing about people, so it can sit in front
    of any view's own permissions.
    """

    message = _("此服务账号的权限范围不包括这个接口。")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not is_service_account(user):
            return True
        match = request.resolver_match
        return allows(
            user.service_account.scopes,
            url_name=match.url_name if match else None,
            method=request.method,
        )

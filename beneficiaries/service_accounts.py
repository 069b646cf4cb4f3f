"""Service accounts and API tokens: made, issued and revoked here (admin, management command).

* A service account is made by an administrator for a region inside their own subtree, with at
  least one scope (``core.service_scopes``); it gets the one role its scopes need, no password and
  no staff flag, so it can call the API with a token and do nothing else.
* A token is issued to a service account, or to a person for their own scripts (by the person or
  by an administrator over them); it always expires (``API_TOKEN_MAX_DAYS`` at most). Its secret
  is returned once and never stored: knox keeps its SHA-512 digest.
* Revoking a token, or a whole service account with its tokens, takes effect on the next call.

``by=None`` is the operator at the server's command line (``manage.py service_accounts``).
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import ApiToken, Region, ServiceAccount, User
from core.exceptions import Conflict, DomainError
from core.permissions import USER_MANAGERS, has_role
from core.scope import covers
from core.service_scopes import ServiceScope, role_for


def _refuse_unless_manager(*, by: User | None, region_code: str | None) -> None:
    if by is None:
        return
    if not has_role(by, USER_MANAGERS) or by.is_service_account:
        raise DomainError(_("只有管理员可以管理服务账号和令牌。"), code="role_not_allowed")
    if not by.is_superuser and (region_code is None or not covers(by, region_code)):
        raise DomainError(_("超出您的管辖区域"), field="region", code="out_of_scope")


@transaction.atomic
def create_service_account(
    *,
    username: str,
    region: Region,
    scopes: list[str],
    description: str,
    by: User | None,
) -> ServiceAccount:
    """Make a partner system's account for ``region``'s subtree with ``scopes``.

    The scopes must share one role (an account that uploads bank return files does not also
    record incomes: two partners, two accounts).
    """
    _refuse_unless_manager(by=by, region_code=region.code)
    scopes = list(dict.fromkeys(scopes))
    unknown = [scope for scope in scopes if scope not in ServiceScope.values]
    if not scopes or unknown:
        raise DomainError(
            _("请选择至少一个有效的权限范围：%(codes)s")
            % {"codes": "、".join(ServiceScope.values)},
            field="scopes",
        )
    role = role_for(scopes)
    if role is None:
        raise DomainError(_("这些权限范围需要不同的角色，请分设两个服务账号。"), field="scopes")
    if not description.strip():
        raise DomainError(_("请写明用途。"), field="description")
    if User.objects.filter(username=username).exists():
        raise Conflict(_("用户名已被使用。"), code="username_taken")
    user = User(
        username=username, role=role, region=region, is_service_account=True, is_staff=False
    )
    user.set_unusable_password()
    user.save()
    return ServiceAccount.objects.create(
        user=user, scopes=scopes, description=description.strip(), created_by=by
    )


@transaction.atomic
def revoke_service_account(*, account: ServiceAccount, by: User | None) -> ServiceAccount:
    """Stop a service account: it and every token it holds are refused from the next call on."""
    _refuse_unless_manager(by=by, region_code=account.user.region.code)
    now = timezone.now()
    User.objects.filter(pk=account.user_id).update(is_active=False)
    ServiceAccount.objects.filter(pk=account.pk, revoked_at=None).update(revoked_at=now)
    ApiToken.objects.filter(user=account.user_id, revoked_at=None).update(
        revoked_at=now, revoked_by=by
    )
    account.refresh_from_db()
    account.user.refresh_from_db()
    return account


def issue_token(
    *, user: User, name: str, days: int | None = None, by: User | None
) -> tuple[ApiToken, str]:
    """Issue a token to ``user``; returns it with its secret, which is shown this once only.

    A person may issue tokens to themselves for their own scripts; an administrator to any
    account of their subtree. Every token expires, after ``days`` (default ``API_TOKEN_DAYS``).
    """
    if by is None or by.pk != user.pk or user.is_service_account:
        _refuse_unless_manager(by=by, region_code=user.region.code if user.region_id else None)
    if not User.objects.filter(pk=user.pk, is_active=True).exists():
        raise Conflict(_("账号已停用，不能签发令牌。"), code="account_inactive")
    if not name.strip():
        raise DomainError(_("请写明令牌的用途。"), field="name")
    ttl = settings.REST_KNOX["TOKEN_TTL"] if days is None else datetime.timedelta(days=days)
    if (
        not datetime.timedelta(days=1)
        <= ttl
        <= datetime.timedelta(days=settings.API_TOKEN_MAX_DAYS)
    ):
        raise DomainError(
            _("有效期须在 1 至 %(max)s 天之间。") % {"max": settings.API_TOKEN_MAX_DAYS},
            field="days",
        )
    return ApiToken.objects.create(user=user, expiry=ttl, name=name.strip(), issued_by=by)


def revoke_token(*, token: ApiToken, by: User | None) -> ApiToken:
    """Revoke a token: the next call with it is refused. Its owner may revoke it too."""
    if by is None or by.pk != token.user_id:
        user = token.user
        _refuse_unless_manager(by=by, region_code=user.region.code if user.region_id else None)
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    token.refresh_from_db()
    return token

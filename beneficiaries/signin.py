"""Lifting a sign-in lockout (core.signin), recorded: who unlocked which user name or address.

django-axes refuses a user name or an address after repeated failed passwords until its cool-off
has passed. An administrator may lift it earlier, from the user admin's action (for users of
their subtree) or ``manage.py unlock_signin``; each unlock is a ``SignInUnlock`` row and a
warning in the log. axes' own admin pages and reset commands are not used (AXES_ENABLE_ADMIN is
off), so no unlock goes unrecorded.
"""

import logging

from axes.models import AccessAttempt
from axes.utils import reset
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import SignInUnlock, User
from core.exceptions import DomainError
from core.permissions import USER_MANAGERS, has_role

log = logging.getLogger(__name__)


@transaction.atomic
def unlock(*, by: User, username: str = "", ip_address: str = "") -> SignInUnlock:
    """Clear the failed sign-ins of ``username`` or of ``ip_address`` (one of them) and record
    who did it. Only administrators and superusers unlock; an administrator only the users of
    their own subtree (the user admin offers no others), a superuser also an address."""
    if not has_role(by, USER_MANAGERS):
        raise DomainError(_("只有管理员可以解除登录锁定。"))
    if bool(username) == bool(ip_address):
        raise DomainError(_("请指定一个用户名或一个地址。"))
    if ip_address and not by.is_superuser:
        raise DomainError(_("只有超级管理员可以解除按地址的锁定。"))
    if username and not by.is_superuser:
        target = User.objects.filter(username=username).select_related("region").first()
        inside = target and target.region and target.region.code.startswith(by.region_prefix)
        if not inside:
            raise DomainError(_("没有这个用户，或不在您的管辖范围内。"))
    held = AccessAttempt.objects.filter(
        **({"username": username} if username else {"ip_address": ip_address})
    )
    attempts = held.aggregate(n=Sum("failures_since_start"))["n"] or 0
    reset(username=username or None, ip=ip_address or None)
    entry = SignInUnlock.objects.create(
        username=username, ip_address=ip_address or None, attempts=attempts, unlocked_by=by
    )
    log.warning(
        "sign-in unlocked: %s by %s (%d failed attempts cleared)",
        f"user {username}" if username else f"address {ip_address}",
        by.username,
        attempts,
    )
    return entry

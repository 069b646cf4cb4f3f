"""Sign-in: where a request comes from, and the lockout on the API's HTTP basic auth.

Every path that checks a password — the sign-in page at ``/``, the admin's sign-in and the API's
HTTP basic auth — calls ``django.contrib.auth.authenticate``, whose first backend is
django-axes (``AUTHENTICATION_BACKENDS``): after ``AXES_FAILURE_LIMIT`` failed passwords for a
user name, or from an address, that user name or address is refused, even with the right
password, until ``AXES_COOLOFF_TIME`` has passed or an administrator unlocks it
(``beneficiaries.signin.unlock``).
"""

import ipaddress

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``PROXY_COUNT`` reverse proxies the
    address the outermost of them appended to ``X-Forwarded-For`` (what comes before it, the
    client could have written itself)."""
    meta = request.META
    address = meta.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:  # not an address: a proxy that writes something else
        return ""


class LockedOut(exceptions.AuthenticationFailed):
    default_detail = _("登录失败次数过多，该账户或地址已被暂时锁定，请稍后再试或联系管理员解锁。")
    default_code = "locked_out"


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's HTTP basic auth, saying so when the lockout refused the password."""

    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut() from None
            raise

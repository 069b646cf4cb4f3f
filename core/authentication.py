"""How callers prove who they are: passwords for people, API tokens for scripts and partners.

* :class:`PersonBackend` — the password backend of the sign-in page, the admin and HTTP basic
  auth; it refuses service accounts, which call with tokens only, and reads a signed-in user
  with their region in one query.
* :class:`BasicAuthentication` — DRF's HTTP basic auth where ``API_BASIC_AUTH`` is on (the
  embedded demo, DEBUG); elsewhere it ignores the header, so the call is not authenticated.
* :class:`TokenAuthentication` — ``Authorization: Token doudi_…`` (django-rest-knox: the token is
  stored as its SHA-512 digest, found by its first characters, compared in constant time). One
  query per call and no password hash. A revoked or expired token is refused at once; the token's
  last use is written at most once a minute; the history rows the call writes name the token
  (``pgh_context.metadata``: ``token`` its ``token_key``, ``token_id``, and ``service_account``
  the account's user name, beside pghistory's ``user``), and so does each read it makes
  (``ReadEntry.token``, ``beneficiaries.readlog``). Failed attempts from one address are
  counted: past ``DEFAULT_THROTTLE_RATES["token_failures"]`` every token attempt from it answers
  429.
"""

from datetime import timedelta

import pghistory
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from knox import auth as knox_auth
from rest_framework.authentication import get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core import signin
from core.service_scopes import is_service_account

# How stale a token's "last used" time may be: writing it on every call would cost a write.
LAST_USED_PRECISION = timedelta(minutes=1)


class PersonBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not is_service_account(user)

    def get_user(self, user_id):
        """The signed-in user of a request, read with their region in the same query: every
        page and list scopes by it (``core.scope``)."""
        model = get_user_model()
        try:
            user = model._default_manager.select_related("region").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class BasicAuthentication(signin.BasicAuthentication):
    """HTTP basic auth behind the sign-in lockout, and only where API_BASIC_AUTH is on."""

    # Read on each call (not when the views are defined), so the setting and tests can turn it on.
    def authenticate(self, request):
        if not settings.API_BASIC_AUTH:
            return None
        return super().authenticate(request)


class FailedTokenAttempts(SimpleRateThrottle):
    """Failed token attempts per client address (DRF's throttle history, kept in the cache)."""

    scope = "token_failures"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def __init__(self, request):
        super().__init__()
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def exceeded(self) -> bool:
        return len(self.history) >= self.num_requests

    def record(self) -> None:
        self.throttle_success()


class TokenAuthentication(knox_auth.TokenAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.authenticate_header(request).lower().encode():
            return None
        attempts = FailedTokenAttempts(request)
        if attempts.exceeded():
            raise Throttled(wait=attempts.wait())
        try:
            user, token = super().authenticate(request)
        except AuthenticationFailed:
            attempts.record()
            raise
        _note_use(token)
        pghistory.context(
            token=token.token_key,
            token_id=token.pk,
            service_account=user.username if user.is_service_account else None,
        )
        return user, token

    def _cleanup_token(self, auth_token) -> bool:
        # knox deletes expired tokens here, after one more query for the user's other tokens. Ours
        # stay (the history names them) and are skipped, which refuses them.
        return not auth_token.is_usable(timezone.now())


def _note_use(token) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        type(token).objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now

"""Production settings: config/settings.py, served over HTTPS only (behind a reverse proxy that
ends TLS), so that ``manage.py check --deploy`` has nothing to report.

    DJANGO_SETTINGS_MODULE=config.production

Everything else still comes from the environment; these settings refuse to start without a real
SECRET_KEY and ALLOWED_HOSTS.
"""

from config.settings import *  # noqa: F403
from config.settings import env, env_bool, env_int

if DEBUG:  # noqa: F405
    raise RuntimeError("DEBUG must be off in production (DEBUG=0)")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("CHANGE_ME"):  # noqa: F405
    raise RuntimeError("SECRET_KEY must be a random string of 50 characters or more")
if not env("ALLOWED_HOSTS"):
    raise RuntimeError("ALLOWED_HOSTS must name the server in production")

# Cookies only over HTTPS; the session cookie and the CSRF cookie are never readable by scripts
# (the CSRF token travels in the page).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# HTTP is redirected to HTTPS, and browsers are told to use only HTTPS from then on. The proxy
# that ends TLS says so in X-Forwarded-Proto (which it must set, never pass through).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

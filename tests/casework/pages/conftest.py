"""The casework pages' tests use the day of work of the web tests (tests/web/conftest.py)."""

from tests.web.conftest import staff, workday  # noqa: F401

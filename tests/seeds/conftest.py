import pytest


@pytest.fixture(autouse=True)
def demo_settings(settings):
    """Seeds run in the demo (DEBUG on); a fast hasher keeps the eleven demo users cheap."""
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

"""Arranging in tests what the database refuses to the app."""

from core.db import without_triggers as triggers_off

__all__ = ["triggers_off"]

"""A password validator for what Django's own do not catch: the user's own name, and runs of
digits such as 1234, 9876 or 0000 (AUTH_PASSWORD_VALIDATORS in config/settings.py)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The shortest run of digits refused: four ascending, descending or repeated digits.
DIGIT_RUN = 4
_DIGITS = re.compile(rf"\d{{{DIGIT_RUN},}}")
_NAME_PARTS = re.compile(r"[\s\-_.@]+")


def names_of(user) -> set[str]:
    """The user's name as someone might put it in a password: the user name, its parts of four
    characters or more, the given and family names and the two written together."""
    if user is None:
        return set()
    username = (getattr(user, "username", "") or "").casefold()
    first = (getattr(user, "first_name", "") or "").casefold().strip()
    last = (getattr(user, "last_name", "") or "").casefold().strip()
    names = {username} if len(username) >= 3 else set()
    names |= {part for part in _NAME_PARTS.split(username) if len(part) >= 4}
    names |= {name for name in (first, last, last + first, first + last) if len(name) >= 2}
    return names


def digit_run(password: str) -> str:
    """The first run of DIGIT_RUN digits or more that counts up, counts down or repeats one
    digit, or ""."""
    for match in _DIGITS.finditer(password):
        digits = [int(d) for d in match.group()]
        for start in range(len(digits) - DIGIT_RUN + 1):
            window = digits[start : start + DIGIT_RUN]
            steps = {b - a for a, b in zip(window, window[1:], strict=False)}
            if steps in ({1}, {-1}, {0}):
                return match.group()[start : start + DIGIT_RUN]
    return ""


class NoNameNoDigitRunValidator:
    """Refuses a password that contains the user's own name or a run of digits."""

    def validate(self, password: str, user=None) -> None:
        folded = password.casefold()
        if any(name in folded for name in names_of(user)):
            raise ValidationError(_("密码不能包含您的用户名或姓名。"), code="password_has_name")
        run = digit_run(password)
        if run:
            raise ValidationError(
                _("密码不能包含连续或重复的数字(如 %(run)s)。") % {"run": run},
                code="password_has_digit_run",
            )

    def get_help_text(self) -> str:
        return _("密码不能包含您的用户名或姓名，也不能包含 1234、4321、0000 这样的连续或重复数字。")

"""The bounds of what a user may enter, kept in one place per kind of field.

A bound lives on the model field (its validators) and, where it matters to money, in a database
CHECK constraint beside it. The API's input serializers build their fields from the model field
(:func:`input_field`) and Django forms (the admin, the pages) get them from ``formfield()``, so
every entry point refuses the same values with the same field message.

Ceilings: no real payment, income or standard comes near them; they only keep a typing slip or a
fuzzer's value (999,999,999,999.99) out of the sums a batch adds up, where it would overflow the
database's numeric columns and stop the month for everyone.

* ``PAYMENT_CEILING`` — one monthly amount (a household's or a member's, an adjustment's, a
  gradual-exit amount): 100,000 yuan. The largest real one is an institution orphan's 3,132
  plus supplements, or a household of ten at a few thousand.
* ``LINE_CEILING`` — one payment line, either sign (back pay for the whole back-pay window, a
  relief instalment, a re-issue): 10,000,000 yuan.
* ``INCOME_CEILING`` — one member's monthly income item: 1,000,000 yuan.
* ``RELIEF_CEILING`` — one temporary relief case or instalment, and a recovery: 1,000,000 yuan
  (the cities' absolute caps are tens of thousands).
* ``ASSET_CEILING`` — one declared asset's value: 100,000,000 yuan.
* ``STANDARD_CEILING`` — one policy value (a standard in yuan, a share, a ratio, a number of
  months): 100,000.

Text: single-line fields (names, addresses, bank details, codes) refuse every control character;
multi-line text (reasons, notes, opinions) allows line breaks and tabs only. Every text field has
a maximum length, also on TextFields (``TEXT_MAX`` unless the field says otherwise).
"""

import datetime
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
PAYMENT_CEILING = Decimal("100000.00")
LINE_CEILING = Decimal("10000000.00")
INCOME_CEILING = Decimal("1000000.00")
RELIEF_CEILING = Decimal("1000000.00")
ASSET_CEILING = Decimal("100000000.00")
STANDARD_CEILING = Decimal("100000")
TEXT_MAX = 2000
# Dates: nobody alive was born before 1900; the assistance rolls start in the 1990s.
EARLIEST_BIRTH = datetime.date(1900, 1, 1)
EARLIEST_RECORD = datetime.date(1990, 1, 1)
# Effective months: how far ahead a change may be scheduled, and how far back anyone may date
# one at all (an approver's back-dating beyond the back-pay window included).
EFFECTIVE_MONTHS_AHEAD = 12
EFFECTIVE_MONTHS_BACK_MAX = 120

# C0 and C1 controls, DEL, the bidirectional overrides and isolates (they reorder what a reader
# sees), surrogates and the two non-characters XML forbids. Multi-line text keeps tab, LF, CR.
_OTHER = "\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_SINGLE_LINE = re.compile(f"[\x00-\x1f{_OTHER}]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_OTHER}]")


def forbidden_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The characters of ``text`` a field refuses, each once, as ``U+0001``."""
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    return sorted({f"U+{ord(c):04X}" for c in pattern.findall(text)})


@deconstructible
class NoControlCharacters:
    """Refuses control characters (line breaks and tabs are allowed in multi-line text)."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value) -> None:
        found = forbidden_characters(str(value), multiline=self.multiline)
        if found:
            raise ValidationError(
                _("含有不可见的控制字符(%(chars)s)，请删除后重新输入。"),
                code="control_character",
                params={"chars": ", ".join(found)},
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline


@deconstructible
class NotAfterToday:
    """A date no later than today plus ``days`` (Asia/Shanghai)."""

    def __init__(self, days: int = 0):
        self.days = days

    def __call__(self, value) -> None:
        latest = timezone.localdate() + datetime.timedelta(days=self.days)
        if value > latest:
            raise ValidationError(
                _("日期不能晚于%(date)s。"), code="too_late", params={"date": latest.isoformat()}
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, NotAfterToday) and other.days == self.days


def not_before(day: datetime.date) -> MinValueValidator:
    return MinValueValidator(day, message=_("日期不能早于%(limit_value)s。"))


def money_validators(ceiling: Decimal, *, signed: bool = False) -> list:
    floor = -ceiling if signed else Decimal("0")
    return [
        MinValueValidator(floor, message=_("金额不能小于%(limit_value)s。")),
        MaxValueValidator(ceiling, message=_("金额不能超过%(limit_value)s。")),
    ]


def MoneyField(verbose_name, *, ceiling: Decimal, signed: bool = False, **kwargs):  # noqa: N802
    """A yuan amount (14 digits, 2 places) between 0 (or −ceiling) and ``ceiling``."""
    return models.DecimalField(
        verbose_name, validators=money_validators(ceiling, signed=signed), **MONEY, **kwargs
    )


def LineField(verbose_name, *, max_length: int, **kwargs):  # noqa: N802
    """Single-line text: a name, an address, bank details, a code."""
    return models.CharField(
        verbose_name, max_length=max_length, validators=[NoControlCharacters()], **kwargs
    )


def TextField(verbose_name, *, max_length: int = TEXT_MAX, **kwargs):  # noqa: N802
    """Multi-line text with a maximum length (a reason, a note, an opinion)."""
    return models.TextField(
        verbose_name,
        max_length=max_length,
        validators=[NoControlCharacters(multiline=True), MaxLengthValidator(max_length)],
        **kwargs,
    )


def money_check(field: str, ceiling: Decimal, *, name: str, signed: bool = False):
    """The database's copy of a money field's bounds (NULL passes, as in SQL)."""
    floor = -ceiling if signed else Decimal("0")
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__gte": floor, f"{field}__lte": ceiling})
        | models.Q(**{f"{field}__isnull": True}),
        name=name,
    )


def length_check(field: str, max_length: int, *, name: str):
    """The database's copy of a text field's maximum length."""
    return models.CheckConstraint(condition=LessThanOrEqual(Length(field), max_length), name=name)


def check_effective_month(
    month: datetime.date, *, back_months: int, approved: bool = False
) -> None:
    """Raise a ValidationError when ``month`` is outside the months policy allows a change to take
    effect in: from the first month of the back-pay window (``back_months``, the region's
    ``back_pay_months``: a change dated earlier could not be back-paid or recovered by the batch)
    to EFFECTIVE_MONTHS_AHEAD months ahead. With an approver's signature (``approved``) the
    window reaches back EFFECTIVE_MONTHS_BACK_MAX months."""
    this_month = timezone.localdate().replace(day=1)
    latest = _add_months(this_month, EFFECTIVE_MONTHS_AHEAD)
    earliest = _add_months(this_month, -(EFFECTIVE_MONTHS_BACK_MAX if approved else back_months))
    if month > latest:
        raise ValidationError(
            _("生效月份不能晚于%(month)s。"),
            code="too_late",
            params={"month": latest.strftime("%Y-%m")},
        )
    if month < earliest:
        message = (
            _("生效月份不能早于%(month)s。")
            if approved
            else _("生效月份早于补发期(%(month)s起)，须由县级审批人审批后办理。")
        )
        raise ValidationError(
            message, code="too_early", params={"month": earliest.strftime("%Y-%m")}
        )


def _add_months(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def input_field(model: type[models.Model], name: str, **overrides):
    """The DRF input field of a model field, with its bounds (max length, min and max value,
    validators), as ``ModelSerializer`` would build it; ``overrides`` set other keywords."""
    from rest_framework import serializers

    field_class, kwargs = serializers.ModelSerializer().build_standard_field(
        name, model._meta.get_field(name)
    )
    kwargs.update(overrides)
    if kwargs.get("read_only"):
        raise ValueError(f"{model.__name__}.{name} is not an input field")
    return field_class(**kwargs)


def check_value(model: type[models.Model], name: str, value, *, field: str | None = None):
    """``value`` checked against the bounds of ``model``'s field ``name`` (its validators), for
    the writers that are not a serializer or a form (imports); a DomainError on ``field``."""
    from core.exceptions import DomainError

    try:
        model._meta.get_field(name).run_validators(value)
    except ValidationError as error:
        raise DomainError(
            error.messages[0], field=field or name, code=error.error_list[0].code or "invalid"
        ) from None
    return value

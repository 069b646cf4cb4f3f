"""Every cell Doudi writes into a CSV or XLSX file passes through :func:`cell`.

Stored text was typed by people and may hold anything the database accepts, so an export must
never fail on it nor let it act in the reader's spreadsheet program:

* **Formulas.** A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  is run as a formula by Excel and WPS (CSV injection; in XLSX openpyxl would even write it as a
  live ``<f>`` formula). Such a cell gets a leading apostrophe, which spreadsheets show as text.
  Numbers stay numbers: a Decimal, int or float is written as a number, and a text cell that is
  a plain decimal number (``-5000.00``, an amount or an account number) is left as it is — it
  is not a formula.
* **Characters the format forbids.** XML 1.0 (XLSX) forbids the C0 controls other than tab, line
  feed and carriage return, lone surrogates and U+FFFE/U+FFFF; openpyxl refuses them with
  ``IllegalCharacterError``. They are replaced by U+FFFD (�) so the reader sees where one was;
  CSV gets the same treatment so both files say the same.
* **Length.** A cell holds at most 32,767 characters in Excel; longer text is cut with "…".
"""

import datetime
import re
from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CELL_MAX = 32_767
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")

Cell = str | int | float | Decimal | datetime.date | None


def cell(value) -> Cell:
    """``value`` made safe for a CSV or XLSX cell (see the module's docstring)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int | float | Decimal | datetime.date):
        return value
    text = _FORBIDDEN.sub("\ufffd", str(value))
    if len(text) > CELL_MAX:
        text = text[: CELL_MAX - 1] + "…"
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text[: CELL_MAX - 1]
    return text


def row(values) -> list[Cell]:
    return [cell(value) for value in values]


def unwritable(text: str) -> str | None:
    """Why ``text`` cannot go into a file exactly as it is (a character the format forbids, or a
    formula prefix), or None. For values that must not be altered, such as bank details."""
    if _FORBIDDEN.search(text):
        return "forbidden_character"
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "formula_prefix"
    return None

"""Resident ID numbers (GB 11643-1999) and bank account numbers.

A resident ID is accepted when its structure, birth date and check digit are right and its area
code is a known administrative division code of any era (python-stdnum's table, abolished codes
included). The area is where the ID was issued, often decades after the birth: an ID of someone born
in 1955 legitimately carries 京口区 321102, a code that exists only since 1984, so the code is
never compared with the birth date. Each way an ID can be wrong has its own message.
"""

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import luhn, numdb
from stdnum.cn import ric

_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_FIFTEEN = re.compile(r"[0-9]{15}")
EARLIEST_BIRTH = datetime.date(1900, 1, 1)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F": the 17th digit is odd for men, even for women


def normalize_resident_id(value: str) -> str:
    """The ID as stored: full-width characters made ASCII (NFKC), spaces dropped, X upper case."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def parse_resident_id(value: str, *, today: datetime.date | None = None) -> ResidentId:
    """Validate an 18-character resident ID and return what it encodes.

    Checked in the order a person reads the number: length, characters, the birth date (a real
    day, not before 1900, not after today in Asia/Shanghai), the area code (known in any era),
    then the check digit, which catches a mistyped digit anywhere. A 15-digit first-generation
    number is refused: those cards stopped being valid in 2013, and the 18-digit number that
    replaced one is not always the mechanical conversion of it.
    """
    number = normalize_resident_id(value)
    if _FIFTEEN.fullmatch(number):
        raise ValidationError(
            _("身份证号须为18位: 15位的第一代身份证号已停用, 请填写第二代身份证上的18位号码"),
            code="id_number_15_digits",
        )
    if len(number) != 18:
        raise ValidationError(
            _("身份证号须为18位 (现为%(length)s位)"),
            code="id_number_length",
            params={"length": len(number)},
        )
    if not _EIGHTEEN.fullmatch(number):
        raise ValidationError(
            _("身份证号前17位须为数字, 末位为数字或X"), code="id_number_characters"
        )
    digits = number[6:14]
    try:
        birth_date = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        birth_date = None
    if birth_date is None or birth_date < EARLIEST_BIRTH:
        raise ValidationError(
            _("身份证号第7至14位的出生日期 %(digits)s 不是有效日期"),
            code="id_number_birth_date",
            params={"digits": digits},
        )
    if birth_date > (today or timezone.localdate()):
        raise ValidationError(
            _("身份证号中的出生日期 %(date)s 晚于今天"),
            code="id_number_future_birth",
            params={"date": birth_date.isoformat()},
        )
    if not is_known_area(number[:6]):
        raise ValidationError(
            _("身份证号前6位的地区码 %(area)s 不是已知的行政区划代码"),
            code="id_number_area",
            params={"area": number[:6]},
        )
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError(
            _("身份证号校验码 (第18位) 不符 (GB 11643): 请逐位核对号码"),
            code="id_number_check_digit",
        )
    return ResidentId(
        number=number,
        birth_date=birth_date,
        sex="M" if int(number[16]) % 2 else "F",
    )


@functools.lru_cache(maxsize=8192)
def is_known_area(area: str) -> bool:
    """Whether a 6-digit code is in stdnum's table of division codes, whatever its years.

    Cached: stdnum's lookup costs half a millisecond, which would dominate a bulk import.
    """
    found = numdb.get("cn/loc").info(area)
    return len(found) == 2 and bool(found[1][1])


def make_resident_id(area_code: str, birth_date: datetime.date, sequence: int, sex: str) -> str:
    """Build a valid ID: the county's area code, birth date, order code (odd for men), check digit.

    Distinct ``sequence`` values below 500 give distinct IDs for one area and birth date.
    """
    area = area_code[:6]
    if not is_known_area(area):
        raise ValueError(f"{area} is not a known area code")
    order = sequence % 500 * 2 + (1 if sex == "M" else 0)
    body = f"{area}{birth_date:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a check-digit slot


def mask_resident_id(number: str) -> str:
    """What a grid worker sees: the first four and last four characters (3211**********1234)."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def validate_bank_account(value: str) -> str:
    """A bank card / social-security card account: 12–19 digits; 16–19-digit cards pass Luhn."""
    number = value.replace(" ", "")
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise ValidationError(_("银行账号须为12至19位数字"), code="invalid_bank_account")
    if len(number) >= 16 and not luhn.is_valid(number):
        raise ValidationError(_("银行卡号校验位错误"), code="invalid_bank_account")
    return number

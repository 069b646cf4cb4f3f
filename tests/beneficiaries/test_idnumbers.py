"""Resident IDs as people actually hold them: the elderly of Zhenjiang and Changzhou carry area
codes created long after their birth, some of which have been abolished since."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from beneficiaries.imports import import_households
from beneficiaries.models import Member
from core.idnumbers import make_resident_id, parse_resident_id
from tests.beneficiaries.test_import import row, xlsx

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def with_check(body: str) -> str:
    """GB 11643's ISO 7064 MOD 11-2 check character, computed here independently."""
    remainder = (12 - sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if remainder == 10 else str(remainder))


def refusal(value: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        parse_resident_id(value, **kwargs)
    return error.value


def test_the_id_from_the_issue_is_accepted():
    resident = parse_resident_id("321102195501013210")
    assert resident.birth_date == datetime.date(1955, 1, 1)
    assert resident.sex == "M"


@pytest.mark.parametrize(
    "body",
    [
        "32110219230417001",  # 京口区 (since 1984), born 1923
        "32111119280805002",  # 润州区 (since 1984), born 1928
        "32118119310312011",  # 丹阳市 (since 1989), born 1931
        "32118319400101024",  # 句容市 (since 1995), born 1940
        "32111219450630013",  # 丹徒区 (since 2002), born 1945
        "32040219360721026",  # 天宁区 (since 1983), born 1936
        "32041119491001017",  # 新北区 (郊区 until 2001), born on the founding day
        "32041319521111028",  # 金坛区 (since 2015), born 1952
        "32048119580228035",  # 溧阳市 (since 1990), born 1958
    ],
)
def test_the_elderly_with_local_area_codes_created_after_their_birth_are_accepted(body):
    number = with_check(body)
    resident = parse_resident_id(number)
    assert resident.number == number
    assert resident.birth_date == datetime.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    assert resident.sex == ("M" if int(body[16]) % 2 else "F")


@pytest.mark.parametrize(
    "body",
    [
        "32042119500101001",  # 武进县, 1983–1995
        "32112119470505002",  # 丹徒县, 1983–2002
        "32040519600808003",  # 戚墅堰区, 1983–2015
        "32048219550315004",  # 金坛市, 1993–2015
        "32262119290909005",  # 镇江地区丹徒县, until 1983
        "32262819391231006",  # 镇江地区溧阳县, until 1983
        "11010319650101007",  # 北京崇文区, until 2010: moved here, never re-issued
    ],
)
def test_area_codes_abolished_since_are_still_accepted(body):
    assert parse_resident_id(with_check(body)).number == with_check(body)


@pytest.mark.parametrize("area", ["321199", "320499", "329999", "999999", "000000", "321113"])
def test_an_area_code_that_never_existed_is_refused_saying_so(area):
    error = refusal(with_check(f"{area}19550101321"))
    assert error.code == "id_number_area"
    assert f"地区码 {area}" in error.messages[0]


@pytest.mark.parametrize("date", ["19520229", "19760229", "20000229"])
def test_29_february_of_a_leap_year_is_accepted(date):
    assert parse_resident_id(with_check(f"320402{date}002")).birth_date.day == 29


@pytest.mark.parametrize("date", ["19530229", "19000229", "19550230", "19551301", "19550000"])
def test_a_date_that_does_not_exist_is_refused_saying_so(date):
    error = refusal(with_check(f"321102{date}321"))
    assert error.code == "id_number_birth_date"
    assert f"出生日期 {date} 不是有效日期" in error.messages[0]


def test_a_birth_year_before_1900_is_refused_as_a_typo():
    assert refusal(with_check("32110218951201321")).code == "id_number_birth_date"


def test_a_birth_after_today_in_shanghai_is_refused(monkeypatch):
    # 2024-06-30 20:00 UTC is already 1 July in Shanghai: a child born on 1 July exists,
    # one born on 2 July does not yet.
    monkeypatch.setattr(
        timezone, "now", lambda: datetime.datetime(2024, 6, 30, 20, tzinfo=datetime.UTC)
    )
    assert parse_resident_id(with_check("32110220240701002")).birth_date.day == 1
    error = refusal(with_check("32110220240702002"))
    assert error.code == "id_number_future_birth"
    assert "2024-07-02 晚于今天" in error.messages[0]


def test_a_wrong_check_digit_is_refused_saying_so():
    error = refusal("321102195501013211")
    assert error.code == "id_number_check_digit"
    assert "校验码" in error.messages[0]


def ending_in_x(prefix: str) -> str:
    """The ID of 16 given characters whose order code's last digit makes the check digit X."""
    return next(
        with_check(prefix + str(n)) for n in range(10) if with_check(prefix + str(n))[-1] == "X"
    )


def test_a_lowercase_x_check_digit_is_accepted_and_stored_upper_case():
    number = ending_in_x("3211021955010132")
    assert parse_resident_id(number.lower()).number == number


def test_full_width_digits_and_surrounding_spaces_are_read_as_the_id():
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "321102195501013210")
    assert parse_resident_id(f"\u3000{full_width} \t").number == "321102195501013210"
    assert parse_resident_id(" 321102 19550101 3210 ").number == "321102195501013210"


def test_a_full_width_x_check_digit_is_read_as_x():
    number = ending_in_x("3204111950010100")
    assert parse_resident_id(number[:-1] + "ｘ").number == number


def test_a_15_digit_first_generation_id_is_refused_asking_for_the_18_digit_one():
    error = refusal("321102550101321")
    assert error.code == "id_number_15_digits"
    assert "18位" in error.messages[0] and "15位" in error.messages[0]


@pytest.mark.parametrize("value", ["32110219550101321", "3211021955010132100", ""])
def test_a_wrong_length_is_refused_with_the_length_found(value):
    error = refusal(value)
    assert error.code == "id_number_length"
    assert f"现为{len(value)}位" in error.messages[0]


@pytest.mark.parametrize(
    "value", ["32110219550101321A", "3211021955O1013210", "32110219550101-321"]
)
def test_letters_inside_the_number_are_refused_saying_so(value):
    assert refusal(value).code == "id_number_characters"


def test_every_refusal_has_an_english_message():
    refused = [
        "321102550101321",
        "32110219550101321",
        "32110219550101321A",
        with_check("32110219550230321"),
        with_check("32110229990101321"),
        with_check("32119919550101321"),
        "321102195501013211",
    ]
    with translation.override("en"):
        messages = [refusal(value).messages[0] for value in refused]
    assert len(set(messages)) == len(refused)
    for message in messages:
        assert "resident ID" in message, message
        assert not any("\u4e00" <= c <= "\u9fff" for c in message), message


def test_made_ids_carry_the_county_code_whatever_the_birth_year():
    number = make_resident_id("321112001001", datetime.date(1932, 3, 4), 5, "F")
    assert number[:6] == "321112"
    assert parse_resident_id(number).birth_date == datetime.date(1932, 3, 4)


# ---- every path that takes an ID goes through the one validator --------------------------------

ELDERLY = with_check("32111119380416002")  # 润州区, a code since 1984; a woman born 1938
IMPOSSIBLE_DATE = with_check("32110219550230321")
UNKNOWN_AREA = with_check("32119919550101321")


def member_body(household, id_number):
    return {
        "household": household.pk,
        "name": "周桂英",
        "id_number": id_number,
        "relation": "parent",
    }


def test_the_api_registers_an_elderly_member_and_reads_the_birth_from_the_id(
    api, household, caseworker
):
    response = api(caseworker).post(
        "/api/members/", member_body(household, f" {ELDERLY.lower()} "), format="json"
    )
    assert response.status_code == 201, response.data
    assert (response.data["birth_date"], response.data["sex"]) == ("1938-04-16", "F")
    assert household.members.get(name="周桂英").id_number == ELDERLY


@pytest.mark.parametrize(
    ("id_number", "zh", "en"),
    [
        (IMPOSSIBLE_DATE, "出生日期 19550230 不是有效日期", "19550230, is not a valid date"),
        (UNKNOWN_AREA, "地区码 321199 不是已知的", "321199, is not a known administrative"),
        ("321102550101321", "15位的第一代身份证号已停用", "15-digit first-generation"),
    ],
)
def test_the_api_names_what_is_wrong_with_an_id_in_both_languages(
    api, household, caseworker, id_number, zh, en
):
    client = api(caseworker)
    chinese = client.post("/api/members/", member_body(household, id_number), format="json")
    english = client.post("/api/members/?lang=en", member_body(household, id_number), format="json")
    assert chinese.status_code == english.status_code == 400
    assert zh in chinese.data["id_number"][0]
    assert en in english.data["id_number"][0]
    assert household.members.count() == 1


def test_the_api_corrects_a_member_to_an_elderly_id(api, household, caseworker):
    member = household.head
    response = api(caseworker).patch(
        f"/api/members/{member.pk}/", {"id_number": ELDERLY}, format="json"
    )
    assert response.status_code == 200, response.data
    member.refresh_from_db()
    assert (member.id_number, member.birth_date) == (ELDERLY, datetime.date(1938, 4, 16))


def test_the_admin_adds_an_elderly_member_and_names_a_bad_date(regions, empty_household, make_user):
    client = Client()
    client.force_login(make_user("admin", regions["town_a"], is_staff=True))
    form = {
        "household": empty_household.pk,
        "name": "周桂英",
        "relation": "head",
        "work_ability": "none",
        "schooling": "none",
        "employment": "na",
    }
    refused = client.post("/admin/beneficiaries/member/add/", form | {"id_number": IMPOSSIBLE_DATE})
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["id_number"]
    assert "出生日期 19550230 不是有效日期" in errors[0]
    assert not empty_household.members.exists()
    accepted = client.post("/admin/beneficiaries/member/add/", form | {"id_number": ELDERLY})
    assert accepted.status_code == 302
    assert empty_household.members.get().birth_date == datetime.date(1938, 4, 16)


def test_an_import_takes_elderly_ids_and_reports_an_unknown_area_on_its_row(regions, caseworker):
    rows = [
        row(
            household_key="H1",
            village_code="321102001001",
            address="北府路3号",
            hukou_type="城镇",
            name="周桂英",
            id_number=f"\u3000{ELDERLY}",
            relation="户主",
        ),
        row(
            household_key="H1",
            name="周建国",
            id_number=with_check("32110219270301001"),
            relation="配偶",
        ),
    ]
    result = import_households(content=xlsx(rows), filename="roll.xlsx", by=caseworker)
    assert result.errors == []
    assert Member.objects.filter(id_number=ELDERLY).exists()
    bad = [
        row(
            household_key="H2",
            village_code="321102001001",
            address="北府路4号",
            hukou_type="城镇",
            name="钱秀英",
            id_number=UNKNOWN_AREA,
            relation="户主",
        )
    ]
    result = import_households(content=xlsx(bad), filename="roll.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "地区码 321199" in result.errors[0].message

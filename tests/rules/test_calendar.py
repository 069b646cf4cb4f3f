"""The working-day calendar: public holidays and make-up working days (调休) as data, seeded from
the chinese-calendar package and completed by administrators (DOMAIN.md "Working days")."""

import datetime
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.workdays import add_working_days
from rules.calendar import (
    Period,
    deadline,
    enter_year,
    load_calendar_seed,
    package_periods,
    validate_year,
)
from rules.models import CalendarPeriod, CalendarYear

D = datetime.date
HOLIDAY, WORKDAY = CalendarPeriod.Kind.HOLIDAY, CalendarPeriod.Kind.WORKDAY
# 国务院办公厅关于2025年部分节假日安排的通知: 10月1日至8日放假调休, 共8天; 9月28日(周日)、
# 10月11日(周六)上班. (Its other lines are left out: these tests count around National Day.)
NATIONAL_DAY_2025 = [
    Period(WORKDAY, D(2025, 9, 28), D(2025, 9, 28), "国庆节"),
    Period(HOLIDAY, D(2025, 10, 1), D(2025, 10, 8), "国庆节、中秋节"),
    Period(WORKDAY, D(2025, 10, 11), D(2025, 10, 11), "国庆节"),
]
NOTICE_2025 = "国办发明电〔2024〕12号"


@pytest.fixture
def administrator(regions, make_user):
    return make_user("admin", regions["jiangsu"], username="js-admin", is_staff=True)


@pytest.fixture
def national_day_2025(administrator):
    return enter_year(year=2025, periods=NATIONAL_DAY_2025, source=NOTICE_2025, by=administrator)


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "days, due",
    [
        (1, D(2025, 9, 28)),  # the make-up Sunday before the holiday is the first working day
        (3, D(2025, 9, 30)),
        (4, D(2025, 10, 9)),  # 1 to 8 October are off
        (5, D(2025, 10, 10)),
        (6, D(2025, 10, 11)),  # the make-up Saturday counts
        (7, D(2025, 10, 13)),
    ],
)
def test_the_national_day_week_counts_as_the_state_council_set_it(national_day_2025, days, due):
    # From Friday 26 September 2025.
    assert deadline(start=D(2025, 9, 26), days=days) == (due, False)


def test_a_make_up_saturday_is_a_working_day(national_day_2025):
    assert deadline(start=D(2025, 10, 10), days=1).due == D(2025, 10, 11)
    assert deadline(start=D(2025, 10, 17), days=1).due == D(2025, 10, 20)  # an ordinary Saturday


def test_a_deadline_spanning_the_spring_festival_skips_it(db):
    load_calendar_seed()
    # 2025: 28 January to 4 February off; Sunday 26 January and Saturday 8 February worked.
    assert deadline(start=D(2025, 1, 24), days=5) == (D(2025, 2, 7), False)
    assert deadline(start=D(2025, 1, 24), days=6) == (D(2025, 2, 8), False)
    assert deadline(start=D(2025, 1, 20), days=15) == (D(2025, 2, 14), False)


def test_a_year_not_confirmed_counts_weekends_only_and_is_provisional(db):
    assert load_calendar_seed()[-1] == 2026  # the package knows no later year
    # Inside 2026 (confirmed): 2026-10-01..07 are off, Saturday 10 October is worked.
    assert deadline(start=D(2026, 9, 30), days=3) == (D(2026, 10, 10), False)
    # Into 2027 (not confirmed): 1 January 2027, a Friday, counts like any Friday.
    assert deadline(start=D(2026, 12, 28), days=10) == (D(2027, 1, 11), True)
    assert deadline(start=D(2027, 9, 30), days=1) == (D(2027, 10, 1), True)


def test_with_no_year_confirmed_every_deadline_is_provisional():
    assert add_working_days(D(2025, 9, 30), 1) == (D(2025, 10, 1), True)
    assert add_working_days(D(2025, 9, 30), 0) == (D(2025, 9, 30), False)


def test_the_seed_loads_every_year_the_package_knows_once(db):
    years = load_calendar_seed()
    assert years == list(range(2004, 2027))
    assert load_calendar_seed() == []
    assert CalendarYear.objects.count() == len(years)
    assert CalendarYear.objects.get(year=2025).source == "chinese-calendar 1.11.0"


def test_every_seeded_year_meets_the_rules_an_administrator_is_held_to():
    for year, periods in package_periods().items():
        validate_year(year=year, periods=periods)


def test_the_seed_agrees_with_the_notice_on_national_day_2025(db):
    load_calendar_seed()
    for period in NATIONAL_DAY_2025:
        for day in period.days():
            expected_working = period.kind == WORKDAY
            assert (
                deadline(start=day - datetime.timedelta(days=1), days=1).due == day
            ) is expected_working


def test_the_seed_leaves_a_year_an_administrator_entered(national_day_2025):
    assert 2025 not in load_calendar_seed()
    assert CalendarYear.objects.get(year=2025).source == NOTICE_2025
    assert CalendarYear.objects.get(year=2025).periods.count() == 3


def test_load_seeds_adds_the_calendar(db):
    out = io.StringIO()
    call_command("load_seeds", stdout=out, stderr=out)
    assert "calendar years added from chinese-calendar 1.11.0: 2004–2026" in out.getvalue()
    assert CalendarYear.objects.filter(year=2026).exists()


def test_an_administrator_enters_a_year_through_the_api(administrator):
    payload = {
        "year": 2027,
        "source": "国办发明电〔2026〕8号",
        "periods": [
            {
                "kind": "holiday",
                "first_day": "2027-01-01",
                "last_day": "2027-01-03",
                "name": "元旦",
            },
            {"kind": "workday", "first_day": "2027-02-06", "name": "春节"},
        ],
    }
    response = api_for(administrator).post("/api/calendar-years/", payload, format="json")
    assert response.status_code == 201, response.data
    assert response.data["confirmed_by"] == "js-admin"
    assert response.data["periods"][1] == {
        "kind": "workday",
        "first_day": "2027-02-06",
        "last_day": "2027-02-06",
        "name": "春节",
    }
    assert deadline(start=D(2026, 12, 31), days=1) == (D(2027, 1, 4), False)


def test_entering_a_year_again_replaces_its_periods(national_day_2025, administrator):
    corrected = [Period(HOLIDAY, D(2025, 10, 1), D(2025, 10, 7), "国庆节")]
    enter_year(year=2025, periods=corrected, source="更正", by=administrator)
    assert list(CalendarPeriod.objects.values_list("first_day", "last_day")) == [
        (D(2025, 10, 1), D(2025, 10, 7))
    ]
    assert deadline(start=D(2025, 9, 30), days=1).due == D(2025, 10, 8)


@pytest.mark.parametrize(
    "period, message",
    [
        (
            {"kind": "workday", "first_day": "2027-01-04", "name": "春节"},
            "2027-01-04 不是周六或周日：调休上班日只能是周末",
        ),
        ({"kind": "holiday", "first_day": "2028-01-01"}, "2028-01-01 不在2027年内"),
        (
            {"kind": "holiday", "first_day": "2027-10-08", "last_day": "2027-10-01"},
            "2027-10-08 晚于截止日期 2027-10-01",
        ),
        ({"kind": "holiday", "first_day": "2027-01-02"}, "2027-01-02 重复录入"),
    ],
)
def test_a_year_that_cannot_be_right_is_refused_with_the_day_named(administrator, period, message):
    periods = [{"kind": "holiday", "first_day": "2027-01-01", "last_day": "2027-01-03"}, period]
    response = api_for(administrator).post(
        "/api/calendar-years/",
        {"year": 2027, "source": "国办发明电〔2026〕8号", "periods": periods},
        format="json",
    )
    assert response.status_code == 400
    assert response.data == {"periods": [message]}
    assert not CalendarYear.objects.exists()


def test_a_year_without_its_holidays_is_refused(administrator):
    response = api_for(administrator).post(
        "/api/calendar-years/",
        {
            "year": 2027,
            "source": "通知",
            "periods": [{"kind": "workday", "first_day": "2027-02-06"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "periods" in response.data


@pytest.mark.parametrize("role", ["caseworker", "grid_worker", "county_approver", "finance"])
def test_only_administrators_enter_the_calendar_and_everyone_reads_it(
    regions, make_user, national_day_2025, role
):
    client = api_for(make_user(role, regions["jingkou"]))
    listed = client.get("/api/calendar-years/")
    assert listed.status_code == 200
    assert [entry["year"] for entry in listed.data] == [2025]
    assert client.get("/api/calendar-years/2025/").data["source"] == NOTICE_2025
    payload = {
        "year": 2027,
        "source": "x",
        "periods": [{"kind": "holiday", "first_day": "2027-01-01"}],
    }
    assert client.post("/api/calendar-years/", payload, format="json").status_code == 403
    assert not CalendarYear.objects.filter(year=2027).exists()


def admin_form(year: str, rows: list[tuple[str, str, str, str]], existing: int = 0) -> dict:
    data = {
        "year": year,
        "source": "国办发明电〔2026〕8号",
        "periods-TOTAL_FORMS": str(len(rows)),
        "periods-INITIAL_FORMS": str(existing),
        "periods-MIN_NUM_FORMS": "0",
        "periods-MAX_NUM_FORMS": "1000",
    }
    for index, (kind, first, last, name) in enumerate(rows):
        data |= {
            f"periods-{index}-kind": kind,
            f"periods-{index}-first_day": first,
            f"periods-{index}-last_day": last,
            f"periods-{index}-name": name,
        }
    return data


def test_an_administrator_enters_a_year_in_the_admin(client, administrator):
    client.force_login(administrator)
    assert client.get("/admin/rules/calendaryear/add/").status_code == 200
    rows = [("holiday", "2027-01-01", "2027-01-03", "元旦"), ("workday", "2027-02-06", "", "春节")]
    response = client.post("/admin/rules/calendaryear/add/", admin_form("2027", rows))
    assert response.status_code == 302, response.content.decode()
    year = CalendarYear.objects.get(year=2027)
    assert year.confirmed_by == administrator
    assert list(year.periods.values_list("kind", "first_day", "last_day")) == [
        ("holiday", D(2027, 1, 1), D(2027, 1, 3)),
        ("workday", D(2027, 2, 6), D(2027, 2, 6)),
    ]


def test_the_admin_shows_why_a_year_is_refused_and_saves_nothing(client, administrator):
    client.force_login(administrator)
    rows = [("holiday", "2027-01-01", "2027-01-03", "元旦"), ("workday", "2027-02-08", "", "春节")]
    response = client.post("/admin/rules/calendaryear/add/", admin_form("2027", rows))
    assert response.status_code == 200
    assert "2027-02-08 不是周六或周日：调休上班日只能是周末" in response.content.decode()
    assert not CalendarYear.objects.exists() and not CalendarPeriod.objects.exists()


def test_an_administrator_corrects_a_year_in_the_admin(client, administrator, national_day_2025):
    client.force_login(administrator)
    page = client.get("/admin/rules/calendaryear/2025/change/")
    assert page.status_code == 200
    ids = list(CalendarPeriod.objects.order_by("first_day").values_list("pk", flat=True))
    rows = [
        ("workday", "2025-09-28", "2025-09-28", "国庆节"),
        ("holiday", "2025-10-01", "2025-10-08", "国庆节、中秋节"),
        ("workday", "2025-10-11", "2025-10-11", "国庆节"),
        ("holiday", "2025-01-01", "", "元旦"),
    ]
    data = admin_form("2025", rows, existing=3)
    for index, pk in enumerate(ids):
        data[f"periods-{index}-id"] = str(pk)
        data[f"periods-{index}-year"] = "2025"
    data["periods-0-DELETE"] = "on"
    response = client.post("/admin/rules/calendaryear/2025/change/", data)
    assert response.status_code == 302, response.content.decode()
    assert list(CalendarPeriod.objects.values_list("kind", "first_day")) == [
        ("holiday", D(2025, 1, 1)),
        ("holiday", D(2025, 10, 1)),
        ("workday", D(2025, 10, 11)),
    ]
    # Sunday 28 September is no longer worked.
    assert deadline(start=D(2025, 9, 26), days=1).due == D(2025, 9, 29)

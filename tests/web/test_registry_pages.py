"""The registry pages through Django's test client: find a household, register one with its
members, the household's page (一户一档)."""

import datetime
import re
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from beneficiaries.models import Asset, Household, IncomeItem, Member, Region, User
from beneficiaries.services import add_member, register_household, update_member
from casework.services import enrolments
from core.idnumbers import make_resident_id
from core.months import add_months, first_of_month
from payments.batches import compute_batch, create_batch
from payments.models import PaymentLine
from rules.parameters import load_standards

# People of every age: the head born in 1955 in 京口区 (321102, a code of 1984), a wife born
# in 1958, a grandson born in 2012.
HEAD_ID = make_resident_id("321102", datetime.date(1955, 1, 1), 7, "M")
WIFE_ID = make_resident_id("321102", datetime.date(1958, 3, 9), 8, "F")
CHILD_ID = make_resident_id("321102", datetime.date(2012, 11, 30), 9, "M")


def wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def household_post(village: Region, members: list[dict], **extra) -> dict:
    """The registration form's POST: the household, its members and the rows given."""
    data = {
        "action": "save",
        "village": str(village.pk),
        "address": "京口区正东路街道北府社区中山东路１２号（西）",
        "hukou_type": "urban",
        "bank_name": "江苏银行",
        "bank_account_holder": "王建国",
        "bank_account_number": "6222020000000000000",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": "0",
        "incomes-TOTAL_FORMS": "0",
        "incomes-INITIAL_FORMS": "0",
        "assets-TOTAL_FORMS": "0",
        "assets-INITIAL_FORMS": "0",
    }
    for index, member in enumerate(members):
        row = {"work_ability": "full", "disability_category": "", "disability_grade": ""}
        row.update(member)
        for key, value in row.items():
            data[f"members-{index}-{key}"] = value
    data.update(extra)
    return data


THREE = [
    {"name": "王建国", "id_number": HEAD_ID, "relation": "head", "work_ability": "none"},
    {"name": "李秀英", "id_number": WIFE_ID, "relation": "spouse"},
    {"name": "王小明", "id_number": CHILD_ID, "relation": "grandchild"},
]


def with_income_and_asset(data: dict) -> dict:
    return {
        **data,
        "incomes-TOTAL_FORMS": "1",
        "incomes-0-member": "2",
        "incomes-0-type": "pension",
        "incomes-0-monthly_amount": "1234.56",
        "incomes-0-valid_from": "2024-01-01",
        "assets-TOTAL_FORMS": "1",
        "assets-0-kind": "vehicle",
        "assets-0-value": "35000",
        "assets-0-description": "电动三轮车",
    }


def nothing_saved() -> None:
    assert not Household.objects.exists()
    assert not Member.objects.exists()
    assert not IncomeItem.objects.exists()
    assert not Asset.objects.exists()


def error_beside(html: str, field_id: str) -> str:
    """The message shown beside the field whose id is ``field_id``."""
    match = re.search(
        rf'id="{field_id}_(?:error|check)"[^>]*>(?:<div class="invalid-feedback[^"]*">)?([^<]+)<',
        html,
    )
    assert match, f"no message beside {field_id}"
    return match.group(1).strip()


# ---- registration --------------------------------------------------------------------------


def test_a_household_of_three_is_registered_with_its_income_and_asset(regions, staff):
    client = signed_in(staff["caseworker"])
    data = with_income_and_asset(household_post(regions["village_a1"], THREE))

    response = client.post("/households/new/", data)

    household = Household.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/households/{household.pk}/"
    assert household.head.name == "王建国"
    assert household.head.birth_date == datetime.date(1955, 1, 1)
    assert household.region_code == "321102001001"
    members = {m.name: m for m in household.members.all()}
    assert members["李秀英"].sex == "F"
    assert members["李秀英"].relation == "spouse"
    assert members["王建国"].work_ability == "none"
    income = IncomeItem.objects.get()
    assert (income.member.name, income.monthly_amount) == ("李秀英", Decimal("1234.56"))
    asset = Asset.objects.get()
    assert (asset.kind, asset.value, asset.description) == (
        "vehicle",
        Decimal("35000"),
        "电动三轮车",
    )


def test_a_wrong_check_digit_is_told_beside_that_id_and_nothing_is_saved(regions, staff):
    client = signed_in(staff["caseworker"])
    members = [dict(m) for m in THREE]
    members[1]["id_number"] = wrong_check_digit(WIFE_ID)

    response = client.post("/households/new/", household_post(regions["village_a1"], members))

    assert response.status_code == 400
    html = response.content.decode()
    assert "校验码" in error_beside(html, "id_members-1-id_number")
    assert 'value="王小明"' in html  # what was typed is kept
    nothing_saved()


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("32110219550101", "须为18位 (现为14位)"),
        ("321102550101001", "15位的第一代身份证号已停用"),
        ("32110219550101001Y", "末位为数字或X"),
        ("321102195502300011", "19550230 不是有效日期"),
        ("999999195501010011", "地区码 999999"),
    ],
)
def test_each_way_an_id_is_wrong_has_its_own_message_beside_it(regions, staff, typed, words):
    client = signed_in(staff["caseworker"])
    members = [dict(m) for m in THREE]
    members[2]["id_number"] = typed

    response = client.post("/households/new/", household_post(regions["village_a1"], members))

    assert words in error_beside(response.content.decode(), "id_members-2-id_number")
    nothing_saved()


def test_the_id_is_checked_as_it_is_typed(regions, staff):
    client = signed_in(staff["caseworker"])

    wrong = client.post(
        "/households/id-check/", {"members-0-id_number": wrong_check_digit(HEAD_ID)}
    )
    right = client.post("/households/id-check/", {"members-0-id_number": HEAD_ID.lower()})

    assert "校验码 (第18位) 不符" in wrong.content.decode()
    assert 'data-id-valid="false"' in wrong.content.decode()
    assert "出生日期 1955-01-01，男" in right.content.decode()


def test_a_person_active_elsewhere_is_named_as_the_api_names_them(regions, staff):
    cw = staff["caseworker"]
    other = register_household(
        village=regions["village_a2"], address="宝塔路3号", hukou_type="urban", by=cw
    )
    add_member(household=other, name="李秀英", id_number=WIFE_ID, relation="head", by=cw)
    client = signed_in(cw)

    response = client.post("/households/new/", household_post(regions["village_a1"], THREE))
    typed = client.post("/households/id-check/", {"members-1-id_number": WIFE_ID})

    message = f"此人已是家庭 #{other.pk} 宝塔路3号 (宝塔路社区) 的有效成员"
    assert message in error_beside(response.content.decode(), "id_members-1-id_number")
    assert message in typed.content.decode()
    assert Household.objects.count() == 1
    assert Member.objects.count() == 1


def test_a_second_head_is_refused_beside_its_relation(regions, staff):
    client = signed_in(staff["caseworker"])
    members = [dict(m) for m in THREE]
    members[2]["relation"] = "head"

    response = client.post("/households/new/", household_post(regions["village_a1"], members))

    assert "须有且仅有一名户主" in error_beside(response.content.decode(), "id_members-2-relation")
    nothing_saved()


def test_the_same_id_twice_is_refused_beside_the_second(regions, staff):
    client = signed_in(staff["caseworker"])
    members = [dict(m) for m in THREE]
    members[2]["id_number"] = HEAD_ID

    response = client.post("/households/new/", household_post(regions["village_a1"], members))

    assert "与成员1的身份证号相同" in error_beside(
        response.content.decode(), "id_members-2-id_number"
    )
    nothing_saved()


def test_a_negative_income_and_a_bad_bank_account_are_told_beside_them(regions, staff):
    client = signed_in(staff["caseworker"])
    data = with_income_and_asset(household_post(regions["village_a1"], THREE))
    data["incomes-0-monthly_amount"] = "-5"
    data["bank_account_number"] = "6222020000000000001"

    response = client.post("/households/new/", data)

    html = response.content.decode()
    assert error_beside(html, "id_incomes-0-monthly_amount")
    assert "校验位错误" in error_beside(html, "id_bank_account_number")
    nothing_saved()


def test_a_village_outside_the_township_cannot_be_chosen(regions, staff):
    client = signed_in(staff["caseworker"])

    response = client.post("/households/new/", household_post(regions["village_b1"], THREE))

    assert error_beside(response.content.decode(), "id_village")
    nothing_saved()


def test_adding_a_member_row_keeps_what_was_typed_and_saves_nothing(regions, staff):
    client = signed_in(staff["caseworker"])
    data = household_post(regions["village_a1"], THREE[:2], action="add-members")

    response = client.post("/households/new/", data, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form method="post"')  # only the form, swapped in place
    assert 'name="members-TOTAL_FORMS" value="3"' in html
    assert f'value="{WIFE_ID}"' in html
    assert "invalid-feedback" not in html  # the empty new row is not judged yet
    nothing_saved()


def test_removing_a_member_takes_their_income_and_renumbers_the_others(regions, staff):
    client = signed_in(staff["caseworker"])
    data = with_income_and_asset(household_post(regions["village_a1"], THREE))
    data.update(
        {
            "incomes-TOTAL_FORMS": "2",
            "incomes-0-member": "2",
            "incomes-1-member": "3",
            "incomes-1-type": "wages",
            "incomes-1-monthly_amount": "800",
            "incomes-1-valid_from": "2024-05-01",
            "action": "remove-members-1",
        }
    )

    html = client.post("/households/new/", data).content.decode()

    assert 'name="members-TOTAL_FORMS" value="2"' in html
    assert "李秀英" not in html
    assert 'name="incomes-TOTAL_FORMS" value="1"' in html
    assert re.search(r'<option value="2" selected>成员2</option>', html)
    assert 'value="800"' in html
    nothing_saved()


def test_a_grid_worker_and_an_auditor_cannot_register(regions, staff):
    for role in ("grid", "auditor"):
        response = signed_in(staff[role]).post(
            "/households/new/", household_post(regions["village_a1"], THREE)
        )
        assert response.status_code == 403
    nothing_saved()


# ---- search --------------------------------------------------------------------------------


@pytest.fixture
def households(regions, staff) -> list[Household]:
    """25 households in town A (heads 王一 … ) and one in town B."""
    cw = staff["caseworker"]
    found = []
    for n in range(25):
        household = register_household(
            village=regions["village_a1"], address=f"中山东路{n + 1}号", hukou_type="urban", by=cw
        )
        add_member(
            household=household,
            name=f"王{n:02d}",
            id_number=make_resident_id("321102", datetime.date(1950, 1, 1), n, "M"),
            relation="head",
            by=cw,
        )
        found.append(household)
    cw_b = staff["caseworker_b"]
    outside = register_household(
        village=regions["village_b1"], address="花山湾中山东路1号", hukou_type="urban", by=cw_b
    )
    add_member(household=outside, name="王外", id_number=CHILD_ID, relation="head", by=cw_b)
    found.append(outside)
    return found


def search(client: Client, text: str):
    """POST the search box, then open the results page it leads to."""
    response = client.post("/households/", {"q": text})
    assert response.status_code == 302
    return response["Location"], client.get(response["Location"]).content.decode()


def link_to(html: str, cursor: str) -> str:
    """The pager's link with ``cursor`` (after, before)."""
    return re.search(rf'href="([^"]*{cursor}=\d+)"', html).group(1).replace("&amp;", "&")


def numbers_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<a href="/households/(\d+)/">\d+</a>', html)]


def test_a_search_by_resident_id_never_puts_the_id_in_a_url(households, staff):
    client = signed_in(staff["caseworker"])
    number = households[3].members.get().id_number

    url, html = search(client, f" {number[:6]} {number[6:]} ")

    assert number not in url and number[:10] not in url
    assert numbers_in(html) == [households[3].pk]
    assert number not in "".join(re.findall(r'href="([^"]*)"', html))


def test_a_search_by_name_pages_by_keyset_twenty_at_a_time(households, staff):
    client = signed_in(staff["caseworker"])

    url, first = search(client, "王")
    following = client.get(
        re.search(r'href="([^"]*after=\d+)"', first).group(1).replace("&amp;", "&")
    )

    town_a = [h.pk for h in households[:25]]
    assert numbers_in(first) == town_a[:20]
    second = following.content.decode()
    assert numbers_in(second) == town_a[20:]
    assert "page=" not in second and "offset" not in second
    assert numbers_in(client.get(link_to(second, "before")).content.decode()) == town_a[:20]


def test_a_search_by_address_or_household_number_stays_in_the_township(households, staff):
    client = signed_in(staff["caseworker"])

    _url, by_address = search(client, "东路7号")
    _url, by_number = search(client, str(households[5].pk))
    _url, outside = search(client, str(households[-1].pk))

    assert numbers_in(by_address) == [households[6].pk]
    assert numbers_in(by_number) == [households[5].pk]
    assert numbers_in(outside) == []
    assert "没有找到符合条件的家庭" in outside


def test_live_results_come_as_a_fragment_with_a_token_url(households, staff):
    client = signed_in(staff["caseworker"])

    response = client.post("/households/", {"q": "王03"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert numbers_in(response.content.decode()) == [households[3].pk]
    assert re.fullmatch(r"/households/\?s=[\w-]+", response["HX-Replace-Url"])


def test_another_users_search_token_finds_nothing(households, staff):
    url, _html = search(signed_in(staff["caseworker"]), "王")

    html = signed_in(staff["caseworker"]).get(url).content.decode()

    assert numbers_in(html) == []


# ---- the household page ----------------------------------------------------------------------


def test_the_household_page_of_another_township_is_a_404(households, staff):
    assert (
        signed_in(staff["caseworker_b"]).get(f"/households/{households[0].pk}/").status_code == 404
    )
    assert signed_in(staff["grid"]).get(f"/households/{households[0].pk}/").status_code == 403


@pytest.fixture
def enrolled(regions, staff) -> Household:
    """A household of three on dibao in 镇江 for three months, this month's batch computed."""
    load_standards()
    client = signed_in(staff["caseworker"])
    client.post(
        "/households/new/", with_income_and_asset(household_post(regions["village_a1"], THREE))
    )
    household = Household.objects.get()
    month = first_of_month(timezone.localdate())
    enrolments.enrol(
        household=household,
        category="dibao",
        start_month=add_months(month, -2),
        by=staff["caseworker"],
        approved_by=staff["approver"],
    )
    batch = create_batch(region=regions["zhenjiang"], month=month, by=staff["finance"])
    compute_batch(batch=batch, inline=True)
    return household


def test_the_household_page_shows_members_income_and_this_months_amount_explained(enrolled, staff):
    html = signed_in(staff["caseworker"]).get(f"/households/{enrolled.pk}/").content.decode()

    for text in ("王建国", "李秀英", "王小明", HEAD_ID, "养老金", "1,234.56", "电动三轮车"):
        assert text in html, text
    assert "本月金额" in html
    assert "计算说明" in html
    assert "低保" in html


@pytest.mark.postgres
def test_the_timeline_says_who_changed_what_with_chinese_field_names(enrolled, staff):
    client = signed_in(staff["caseworker"])
    member = enrolled.members.get(name="王小明")

    update_member(member=member, by=staff["caseworker"], name="王晓明")

    page = client.get(f"/households/{enrolled.pk}/").content.decode()
    html = client.get(
        f"/households/{enrolled.pk}/history/", headers={"HX-Request": "true"}
    ).content.decode()
    whole = client.get(f"/households/{enrolled.pk}/history/").content.decode()

    assert f'hx-get="/households/{enrolled.pk}/history/"' in page  # fetched as the page loads
    assert "<html" not in html and "<html" in whole and "修改家庭成员 王晓明" in whole
    assert "修改家庭成员 王晓明" in html
    assert re.search(r"姓名</span>：王小明 → 王晓明", html)
    assert "新建家庭" in html
    assert "zhang-cw" in html


def test_the_registry_pages_hold_no_inline_script_handler_or_style(enrolled, staff):
    client = signed_in(staff["caseworker"])
    _url, results = search(client, "王")
    shown = {
        "search": client.get("/households/").content.decode(),
        "results": results,
        "register": client.get("/households/new/").content.decode(),
        "household": client.get(f"/households/{enrolled.pk}/").content.decode(),
        "history": client.get(f"/households/{enrolled.pk}/history/").content.decode(),
    }
    for name, html in shown.items():
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script or 'type="application/json"' in script, (name, script)
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert not re.search(r"\sstyle\s*=", html), name
        assert "<style" not in html, name


# Its history part reads pghistory's rows: PostgreSQL only.
@pytest.mark.postgres
def test_the_registry_pages_read_in_english_with_the_switch(enrolled, staff):
    client = signed_in(staff["caseworker"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/households/"})

    search_page = client.get("/households/").content.decode()
    register_page = client.get("/households/new/").content.decode()
    household_page = client.get(f"/households/{enrolled.pk}/").content.decode()

    assert "Name, resident ID, address or household number" in search_page
    assert "Add a member" in register_page and "Member 1" in register_page
    assert "Household file" in household_page and "History of changes" in household_page
    history = client.get(f"/households/{enrolled.pk}/history/").content.decode()
    assert "New Household" in history


def test_the_household_page_reads_as_many_queries_whatever_its_history(enrolled, regions, staff):
    client = signed_in(staff["caseworker"])
    url = f"/households/{enrolled.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    month = first_of_month(timezone.localdate())
    for months_back in (1, 2):
        batch = create_batch(
            region=regions["zhenjiang"], month=add_months(month, -months_back), by=None
        )
        compute_batch(batch=batch, inline=True)
    add_member(
        household=enrolled,
        name="王小红",
        id_number=make_resident_id("321102", datetime.date(2015, 6, 1), 11, "F"),
        relation="grandchild",
        by=staff["caseworker"],
    )
    with CaptureQueriesContext(connection) as later:
        html = client.get(url).content.decode()

    assert PaymentLine.objects.filter(household=enrolled).count() == 3
    assert "王小红" in html
    assert len(later) == len(first)


FIRST_TABLE = re.compile(r'\bFROM "(\w+)"')
# What the household page and its history read, whatever the household holds: the session, the
# user with their region, the household, the read log's entry, each table of the page once (the
# explanations of this month's lines and their standards), the session renewed.
PAGE_QUERIES = 16
HISTORY_QUERIES = 19


def statements(queries) -> list[str]:
    """The SQL statements run, less the transaction bookkeeping (the test's savepoints)."""
    bookkeeping = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [query["sql"] for query in queries if not query["sql"].startswith(bookkeeping)]


def tables_read(queries) -> Counter:
    """How many statements read each table (the first table a statement reads from)."""
    return Counter(
        match.group(1) for query in queries if (match := FIRST_TABLE.search(query["sql"]))
    )


def read_twice(queries, *, but=()) -> list[str]:
    return sorted(t for t, n in tables_read(queries).items() if n > 1 and t not in but)


def test_the_household_page_reads_each_table_once(enrolled, staff):
    client = signed_in(staff["caseworker"])
    url = f"/households/{enrolled.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as page:
        html = client.get(url).content.decode()

    assert "计算说明" in html  # this month's line, explained
    assert read_twice(page) == []
    assert tables_read(page)["payments_paymentline"] == 1
    assert len(statements(page)) <= PAGE_QUERIES, "\n".join(statements(page))


@pytest.mark.postgres
def test_the_history_reads_each_table_once_whatever_its_length(enrolled, regions, staff):
    client = signed_in(staff["caseworker"])
    url = f"/households/{enrolled.pk}/history/"
    htmx = {"HX-Request": "true"}
    caseworker = staff["caseworker"]
    update_member(member=enrolled.members.get(name="王小明"), by=caseworker, name="王晓明")
    client.get(url, headers=htmx)
    with CaptureQueriesContext(connection) as first:
        client.get(url, headers=htmx)
    month = first_of_month(timezone.localdate())
    for months_back in (1, 2):
        batch = create_batch(
            region=regions["zhenjiang"], month=add_months(month, -months_back), by=None
        )
        compute_batch(batch=batch, inline=True)
    add_member(
        household=enrolled,
        name="王小红",
        id_number=make_resident_id("321102", datetime.date(2015, 6, 1), 11, "F"),
        relation="grandchild",
        by=caseworker,
    )
    update_member(member=enrolled.members.get(name="王晓明"), by=caseworker, name="王小明")
    with CaptureQueriesContext(connection) as later:
        html = client.get(url, headers=htmx).content.decode()

    assert "王小红" in html
    ran = statements(later)
    assert len(ran) == len(statements(first)) <= HISTORY_QUERIES, "\n".join(ran)
    # The user table twice: the signed-in user, and the authors of the changes.
    assert read_twice(later, but={"beneficiaries_user"}) == []


def test_the_household_pages_and_searches_are_in_the_read_log(enrolled, staff):
    from beneficiaries.models import ReadEntry

    client = signed_in(staff["auditor"])
    assert client.get(f"/households/{enrolled.pk}/").status_code == 200
    assert client.get(f"/households/{enrolled.pk}/history/").status_code == 200
    number = enrolled.members.first().id_number
    client.post("/households/", {"q": number}, follow=True)

    entries = list(
        ReadEntry.objects.order_by("id").values_list("what", "household", "rows", "query")
    )
    assert entries == [
        ("household.page", enrolled.pk, 1, ""),
        ("household.history", enrolled.pk, 1, ""),
        ("household.search", None, 1, "kind=id_number"),
    ]
    assert all(number not in entry[3] for entry in entries)

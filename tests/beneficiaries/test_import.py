"""Bulk import of households and members: all or nothing, with a row-by-row report."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook, load_workbook

from beneficiaries import services
from beneficiaries.imports import COLUMNS, import_households
from beneficiaries.models import Household, IncomeItem, Member

HEADER = [column.label for column in COLUMNS]


def row(**values) -> list:
    """One spreadsheet row; ``values`` by column key."""
    keys = [column.key for column in COLUMNS]
    unknown = set(values) - set(keys)
    assert not unknown, unknown
    return [values.get(key, "") for key in keys]


def xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for cells in rows:
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def good_rows(new_id):
    head, spouse, child, other = (new_id(), new_id(sex="F"), new_id(), new_id())
    return [
        row(
            household_key="H1",
            village_code="321102001001",
            address="北府路1号",
            hukou_type="城镇",
            bank_account_number="6222020000000000000",
            bank_name="江苏银行",
            bank_account_holder="张三",
            name="张三",
            id_number=head,
            relation="户主",
            income_type="工资性收入",
            monthly_amount="1800",
            income_valid_from="2024-01-01",
        ),
        row(
            household_key="H1",
            name="张三",
            id_number=head,
            relation="户主",
            income_type="养老金",
            monthly_amount="300.5",
            income_valid_from="2024/01/01",
            income_valid_to="2024-12-31",
        ),
        row(
            household_key="H1",
            name="李梅",
            id_number=spouse,
            relation="配偶",
            disability_category="肢体",
            disability_grade="2",
            serious_illness="是",
            work_ability="无劳动能力",
        ),
        row(
            household_key="H2",
            village_code="321102001002",
            address="宝塔路8号",
            hukou_type="rural",
            name="王五",
            id_number=other,
            relation="head",
        ),
        row(household_key="H1", name="张小", id_number=child, relation="子女", schooling="小学"),
    ]


def test_a_good_xlsx_file_is_imported_whole(regions, caseworker, good_rows):
    result = import_households(content=xlsx(good_rows), filename="roll.xlsx", by=caseworker)
    assert result.errors == []
    assert (result.households, result.members, result.incomes) == (2, 4, 2)
    h1 = Household.objects.get(address="北府路1号")
    assert h1.region_code == "321102001001" and h1.hukou_type == "urban"
    assert h1.head.name == "张三"
    assert sorted(m.name for m in h1.members.all()) == ["张三", "张小", "李梅"]
    spouse = h1.members.get(name="李梅")
    assert (spouse.disability_category, spouse.disability_grade, spouse.serious_illness) == (
        "physical",
        2,
        True,
    )
    assert spouse.work_ability == "none" and spouse.sex == "F"
    incomes = IncomeItem.objects.filter(member=h1.head).order_by("type")
    assert [(i.type, i.monthly_amount, i.valid_to) for i in incomes] == [
        ("pension", Decimal("300.50"), datetime.date(2024, 12, 31)),
        ("wages", Decimal("1800.00"), None),
    ]
    assert Household.objects.get(address="宝塔路8号").head.name == "王五"


def test_a_csv_saved_by_excel_in_gbk_is_read(regions, caseworker, good_rows):
    content = csv_bytes(good_rows, encoding="gb18030")
    result = import_households(content=content, filename="roll.csv", by=caseworker)
    assert result.errors == []
    assert Member.objects.count() == 4


def test_a_bad_file_reports_every_bad_row_and_writes_nothing(
    regions, household, caseworker, good_rows, new_id
):
    good = new_id()
    bad_id = good[:17] + ("0" if good[17] != "0" else "1")
    rows = good_rows + [
        # 7: an invalid ID and an unknown relation
        row(
            household_key="H3",
            village_code="321102001001",
            address="a",
            hukou_type="城镇",
            name="甲",
            id_number=bad_id,
            relation="邻居",
        ),
        # 8: a person already active in the fixture's household
        row(
            household_key="H4",
            village_code="321102001001",
            address="b",
            hukou_type="城镇",
            name="王伟",
            id_number=household.head.id_number,
            relation="户主",
        ),
        # 9: a village of another township, a bad bank account
        row(
            household_key="H5",
            village_code="321102002001",
            address="c",
            hukou_type="城镇",
            bank_account_number="123",
            name="乙",
            id_number=new_id(),
            relation="户主",
        ),
        # 10: the same person twice in the file
        row(household_key="H5", name="丙", id_number=good_rows[0][8], relation="子女"),
        # 11: income without an amount, a grade without a category
        row(
            household_key="H2",
            name="丁",
            id_number=new_id(),
            relation="子女",
            disability_grade="3",
            income_type="工资性收入",
            income_valid_from="2024-01-01",
        ),
    ]
    result = import_households(content=xlsx(rows), filename="roll.xlsx", by=caseworker)
    found = {(e.row, e.column) for e in result.errors}
    assert {
        (7, "与户主关系"),
        (8, "身份证号"),
        (9, "村/社区代码"),
        (9, "银行账号"),
        (10, "身份证号"),
        (11, "月收入"),
        (11, "残疾类别"),
    } <= found
    id_errors = {e.row: e.message for e in result.errors if e.column == "身份证号"}
    assert f"#{household.pk} 北府路1号" in id_errors[8]
    assert "第2行" in id_errors[10]
    assert not result.ok and result.households == 0
    # Nothing at all was written, not even the good households.
    assert Household.objects.count() == 1
    assert Member.objects.count() == 1
    assert not IncomeItem.objects.exists()


def test_a_household_without_exactly_one_head_is_refused(regions, caseworker, new_id):
    rows = [
        row(
            household_key="H1",
            village_code="321102001001",
            address="a",
            hukou_type="城镇",
            name="甲",
            id_number=new_id(),
            relation="配偶",
        ),
    ]
    result = import_households(content=xlsx(rows), filename="r.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(2, "与户主关系")]
    assert not Household.objects.exists()


def test_an_id_typed_as_a_number_is_refused(regions, caseworker, new_id):
    number = new_id()
    rows = [
        row(
            household_key="H1",
            village_code=321102001001,
            address="a",
            hukou_type="城镇",
            name="甲",
            id_number=int(number[:17] + "1"),
            relation="户主",
        ),
    ]
    result = import_households(content=xlsx(rows), filename="r.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "文本格式" in result.errors[0].message


def test_a_missing_column_is_reported_on_the_header_row(regions, caseworker):
    content = csv_bytes([], header=[h for h in HEADER if h != "身份证号"])
    result = import_households(content=content, filename="r.csv", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(1, "身份证号")]


def test_the_village_scope_limits_the_villages(regions, caseworker, good_rows):
    result = import_households(
        content=xlsx(good_rows),
        filename="r.xlsx",
        by=caseworker,
        village_scope=regions["village_a1"],
    )
    assert [(e.row, e.column) for e in result.errors] == [(5, "村/社区代码")]
    assert not Household.objects.exists()


def test_the_api_imports_a_good_file(api, regions, caseworker, good_rows):
    upload = SimpleUploadedFile("roll.xlsx", xlsx(good_rows))
    response = api(caseworker).post("/api/households/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.data
    assert response.data["households"] == 2 and response.data["errors"] == []
    assert Household.objects.count() == 2


def test_the_api_returns_400_with_the_report_and_writes_nothing(
    api, regions, caseworker, good_rows
):
    good_rows[2][HEADER.index("残疾等级")] = "7"
    upload = SimpleUploadedFile("roll.csv", csv_bytes(good_rows))
    response = api(caseworker).post(
        "/api/households/import/?lang=en", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.data["errors"] == [
        {"row": 4, "column": "残疾等级", "message": "The disability grade must be 1 to 4"}
    ]
    assert not Household.objects.exists() and not Member.objects.exists()


def test_an_auditor_cannot_import(api, regions, make_user, good_rows):
    upload = SimpleUploadedFile("roll.xlsx", xlsx(good_rows))
    auditor = make_user("auditor", regions["jingkou"])
    response = api(auditor).post("/api/households/import/", {"file": upload}, format="multipart")
    assert response.status_code == 403
    assert not Household.objects.exists()


def test_a_file_of_another_type_is_refused(api, caseworker):
    upload = SimpleUploadedFile("roll.txt", b"hello")
    response = api(caseworker).post("/api/households/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.data


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_the_template_downloads_with_every_column(api, caseworker, kind):
    response = api(caseworker).get(f"/api/households/import-template/?type={kind}")
    assert response.status_code == 200
    if kind == "csv":
        header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        header = [cell.value for cell in sheet[1]]
    assert header == HEADER


def test_the_command_imports_a_file(tmp_path, regions, caseworker, good_rows):
    path = tmp_path / "roll.xlsx"
    path.write_bytes(xlsx(good_rows))
    out = io.StringIO()
    call_command(
        "import_households",
        str(path),
        "--user",
        caseworker.username,
        "--village-scope",
        "321102001",
        stdout=out,
    )
    assert "imported 2 households, 4 members, 2 income items" in out.getvalue()
    assert Household.objects.count() == 2


def test_the_command_prints_the_report_and_fails_on_a_bad_file(
    tmp_path, regions, caseworker, good_rows
):
    good_rows[0][HEADER.index("户籍类型")] = "外星"
    path = tmp_path / "roll.csv"
    path.write_bytes(csv_bytes(good_rows))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_households", str(path), "--user", caseworker.username, stderr=err)
    assert "row 2\t户籍类型" in err.getvalue()
    assert not Household.objects.exists()


def test_a_registration_racing_the_import_comes_back_as_a_report(
    monkeypatch, regions, caseworker, good_rows
):
    """Someone registers a person between the file's check and its write: the constraint holds."""
    from beneficiaries import imports

    original = imports._Validator.people_registered_elsewhere
    calls = []

    def register_meanwhile(validator):
        calls.append(1)
        if len(calls) == 1:
            household = services.register_household(
                village=regions["village_a2"],
                address="抢先路1号",
                hukou_type="urban",
                by=caseworker,
            )
            services.add_member(
                household=household,
                name="张三",
                id_number=good_rows[0][8],
                relation="head",
                by=caseworker,
            )
            return None
        return original(validator)

    monkeypatch.setattr(imports._Validator, "people_registered_elsewhere", register_meanwhile)
    result = import_households(content=xlsx(good_rows), filename="r.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "抢先路1号" in result.errors[0].message
    assert list(Household.objects.values_list("address", flat=True)) == ["抢先路1号"]


def test_two_names_with_one_id_in_a_household_are_refused(regions, caseworker, good_rows):
    good_rows[4][HEADER.index("身份证号")] = good_rows[2][HEADER.index("身份证号")]
    result = import_households(content=xlsx(good_rows), filename="r.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(6, "身份证号")]
    assert "第4行" in result.errors[0].message
    assert not Household.objects.exists()


def test_an_id_with_a_lower_case_x_is_still_found_registered(
    regions, household, caseworker, new_id
):
    number = next(n for n in iter(new_id, None) if n.endswith("X"))
    services.add_member(
        household=household, name="王芳", id_number=number, relation="child", by=caseworker
    )
    rows = [
        row(household_key="H1", village_code="321102001002", address="a", hukou_type="城镇",
            name="王芳", id_number=number.lower(), relation="户主"),
    ]  # fmt: skip
    result = import_households(content=xlsx(rows), filename="r.xlsx", by=caseworker)
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert f"#{household.pk}" in result.errors[0].message
    assert Household.objects.count() == 1


@pytest.mark.postgres
def test_history_rows_of_an_import_name_the_file_and_the_user(regions, caseworker, good_rows):
    from django.apps import apps

    result = import_households(content=xlsx(good_rows), filename="roll.xlsx", by=caseworker)
    assert result.ok
    events = apps.get_model("beneficiaries", "MemberEvent").objects.select_related("pgh_context")
    contexts = {(e.pgh_context.metadata["import_file"], e.pgh_context.metadata["imported_by"])
                for e in events.filter(pgh_label="insert")}  # fmt: skip
    assert contexts == {("roll.xlsx", caseworker.pk)}
    assert events.filter(pgh_label="insert").count() == 4

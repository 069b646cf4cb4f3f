"""Bulk import of households and members from a spreadsheet (XLSX or CSV), all or nothing.

Bureaus keep their rolls in spreadsheets: one row per person, the rows of one household sharing
a household key (户编号). The whole file is validated first, against the same checks the
services apply one by one (``beneficiaries.services.check_*``); any error and nothing is written,
and the report lists every bad cell (row, column, message). A clean file is written in one
transaction with bulk inserts. The template is documented in docs/import-template.md.

Speed: the file is read once; villages and people already active elsewhere are looked up with
one query per few thousand rows, never one per row; households, members and incomes are
written with ``bulk_create``. The partial unique constraint still holds the one-household rule
against a concurrent registration: that race comes back as a report, not a crash.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from beneficiaries import services
from beneficiaries.bulk import bulk_history_context
from beneficiaries.facts import refresh_household_facts
from beneficiaries.models import Household, IncomeItem, IncomeType, Member, Region, User
from core import uploads
from core.exceptions import DomainError
from core.fields import check_value
from core.scope import covers

MAX_ROWS = 50_000
LOOKUP_CHUNK = 2_000
# The header and MAX_ROWS rows, each cell at most a long address; a file past these limits (or
# an XLSX expanding past 200 MB) is refused while it is read, before anything is written.
LIMITS = uploads.Limits(max_rows=MAX_ROWS + 1, max_columns=64, max_cell_chars=1_000)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the Chinese header bureaus use; the English key is accepted as well
    required: bool
    help: str


COLUMNS = (
    Column("household_key", "户编号", True, "同一家庭的各行填相同编号"),
    Column("village_code", "村/社区代码", True, "12位行政区划代码(村/社区一级)"),
    Column("address", "地址", True, "家庭住址"),
    Column("hukou_type", "户籍类型", True, "城镇 或 农村"),
    Column("bank_name", "开户银行", False, "可空"),
    Column("bank_account_holder", "账户户名", False, "可空"),
    Column("bank_account_number", "银行账号", False, "12-19位数字, 以文本格式填写"),
    Column("name", "姓名", True, "成员姓名"),
    Column("id_number", "身份证号", True, "18位, 以文本格式填写"),
    Column("relation", "与户主关系", True, "户主/配偶/子女/父母/孙子女/祖父母/兄弟姐妹/其他"),
    Column("disability_category", "残疾类别", False, "视力/听力/言语/肢体/智力/精神/多重"),
    Column("disability_grade", "残疾等级", False, "1-4"),
    Column("serious_illness", "重病", False, "是/否, 空为否"),
    Column("work_ability", "劳动能力", False, "有劳动能力/部分丧失劳动能力/无劳动能力"),
    Column("schooling", "就学", False, "未上学/学前/小学/初中/高中/中职/大专及以上/已离校"),
    Column("employment", "就业", False, "就业/灵活就业/务农/失业/退休/在校/不适用"),
    Column("income_type", "收入类型", False, "如 工资性收入; 填写则须填月收入和起始日期"),
    Column("monthly_amount", "月收入", False, "元, 如 1800.00"),
    Column("income_valid_from", "收入起始日期", False, "YYYY-MM-DD"),
    Column("income_valid_to", "收入截止日期", False, "YYYY-MM-DD, 可空"),
)
HOUSEHOLD_FIELDS = (
    "village_code",
    "address",
    "hukou_type",
    "bank_name",
    "bank_account_holder",
    "bank_account_number",
)
PERSON_REQUIRED = ("household_key", "name", "id_number", "relation")
INCOME_FIELDS = ("income_type", "monthly_amount", "income_valid_from", "income_valid_to")
# Cells that must be typed as text: a spreadsheet number loses digits past the 15th.
TEXT_ONLY = frozenset({"id_number", "bank_account_number"})
CHOICES = {
    "hukou_type": Household.HukouType,
    "relation": Member.Relation,
    "disability_category": Member.DisabilityCategory,
    "work_ability": Member.WorkAbility,
    "schooling": Member.Schooling,
    "employment": Member.Employment,
    "income_type": IncomeType,
}
# Text columns and the model field whose bounds (length, control characters) they take.
TEXT_FIELDS = {
    "address": (Household, "address"),
    "bank_name": (Household, "bank_name"),
    "bank_account_holder": (Household, "bank_account_holder"),
    "name": (Member, "name"),
}
TRUE_WORDS = {"是", "有", "y", "yes", "true", "1"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", ""}


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    households: int = 0
    members: int = 0
    incomes: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "households": self.households,
            "members": self.members,
            "incomes": self.incomes,
            "errors": [error.as_dict() for error in self.errors],
        }


class ImportFileError(DomainError):
    """The file cannot be read at all (wrong type, no header, too many rows)."""


# ---- reading ------------------------------------------------------------------------------


def read_rows(content: bytes, filename: str) -> Iterator[tuple[int, list]]:
    """(spreadsheet row number, cells) for every row, header included, of an XLSX or CSV file."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        yield from _read_xlsx(content)
    elif name.endswith(".csv"):
        yield from _read_csv(content)
    else:
        raise ImportFileError(_("请上传 .xlsx 或 .csv 文件"), field="file", code="file_type")


def _read_xlsx(content: bytes):
    yield from enumerate(uploads.read_xlsx(content, LIMITS), start=1)


def _read_csv(content: bytes):
    # Excel in China saves CSV as GBK (GB 18030 reads it).
    yield from enumerate(uploads.read_csv(content, LIMITS, ("utf-8-sig", "gb18030")), start=1)


# ---- cell parsing -------------------------------------------------------------------------


class CellError(Exception):
    def __init__(self, message):
        self.message = message


def _text(value, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if key in TEXT_ONLY:
            raise CellError(_("请以文本格式填写(数字格式会丢失位数)"))
        value = int(value) if value == int(value) else value
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _date(value: str) -> datetime.date:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise CellError(_("日期格式应为 YYYY-MM-DD"))


def _bool(value: str) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(_("请填写 是 或 否"))


def _choice_lookup() -> dict[str, dict[str, str]]:
    """Per column, every accepted spelling (code, Chinese label, English label) → code."""
    lookup: dict[str, dict[str, str]] = {}
    for key, choices in CHOICES.items():
        spellings: dict[str, str] = {}
        for language in ("en", "zh-hans"):
            with translation.override(language):
                for value, label in choices.choices:
                    spellings[str(label).lower()] = value
        spellings.update({value: value for value in choices.values})
        spellings.pop("", None)
        lookup[key] = spellings
    return lookup


# ---- validation ---------------------------------------------------------------------------


@dataclass
class PersonRow:
    row: int
    values: dict
    resident: object = None
    attributes: dict = field(default_factory=dict)
    incomes: list = field(default_factory=list)


@dataclass
class HouseholdGroup:
    key: str
    first_row: int
    values: dict
    village: Region | None = None
    people: dict[str, PersonRow] = field(default_factory=dict)


class _Validator:
    def __init__(self, *, by: User, village_scope: Region | None):
        self.by = by
        self.village_scope = village_scope
        self.errors: list[RowError] = []
        self.labels = {column.key: column.label for column in COLUMNS}
        self.choices = _choice_lookup()
        self.groups: dict[str, HouseholdGroup] = {}
        self.person_rows: dict[str, tuple[int, str]] = {}  # ID → (row, household key)

    def error(self, row: int, key: str | None, message) -> None:
        column = self.labels.get(key, "") if key else ""
        self.errors.append(RowError(row=row, column=column, message=str(message)))

    def header(self, cells: list) -> dict[int, str]:
        aliases = {}
        for column in COLUMNS:
            aliases[column.label] = column.key
            aliases[column.key] = column.key
        positions = {}
        for index, cell in enumerate(cells):
            key = aliases.get(_text(cell, "").replace("*", "").strip())
            if key:
                positions[index] = key
        missing = [c.label for c in COLUMNS if c.required and c.key not in positions.values()]
        for label in missing:
            self.errors.append(RowError(row=1, column=label, message=str(_("缺少此列"))))
        return positions

    def row(self, number: int, cells: list, positions: dict[int, str]) -> None:
        values: dict = {}
        for index, key in positions.items():
            raw = cells[index] if index < len(cells) else None
            try:
                values[key] = _text(raw, key)
                if key in TEXT_FIELDS and values[key]:
                    check_value(*TEXT_FIELDS[key], values[key], field=key)
            except CellError as problem:
                self.error(number, key, problem.message)
                values[key] = None
            except DomainError as problem:
                self.error(number, key, problem.message)
                values[key] = None
        if not any(values.values()):
            return  # blank line
        for key in PERSON_REQUIRED:
            if values.get(key) == "":  # None: unreadable, reported already
                self.error(number, key, _("必填"))
        key = values.get("household_key")
        if not key:
            return
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = HouseholdGroup(key=key, first_row=number, values={})
            for name in HOUSEHOLD_FIELDS:
                group.values[name] = values.get(name) or ""
            self.household_values(number, group)
        else:
            for name in HOUSEHOLD_FIELDS:
                value = values.get(name)
                if value and value != group.values[name]:
                    self.error(
                        number,
                        name,
                        _("与本户第%(row)s行不一致") % {"row": group.first_row},
                    )
        self.person(number, values, group)

    def household_values(self, number: int, group: HouseholdGroup) -> None:
        values = group.values
        for name in ("village_code", "address", "hukou_type"):
            if not values[name]:
                self.error(number, name, _("必填"))
        if values["hukou_type"]:
            values["hukou_type"] = self.choice(number, "hukou_type", values["hukou_type"])
        try:
            values["bank_account_number"] = services.check_bank_account(
                values["bank_account_number"]
            )
        except DomainError as problem:
            self.error(number, "bank_account_number", problem.message)

    def choice(self, number: int, key: str, value: str) -> str | None:
        code = self.choices[key].get(value.lower())
        if code is None:
            self.error(number, key, _("无效的选项: %(value)s") % {"value": value})
        return code

    def person(self, number: int, values: dict, group: HouseholdGroup) -> None:
        raw = values.get("id_number") or ""
        resident = None
        if raw:
            try:
                resident = services.check_resident_id(raw)
            except DomainError as problem:
                self.error(number, "id_number", problem.message)
        # The number as stored (spaces and a lower-case x normalised); rows without a readable
        # ID still count for the one-head check.
        key = resident.number if resident else raw.upper() or f"row {number}"
        person = group.people.get(key)
        if person is not None and values.get("name") == person.values.get("name"):
            self.income(number, values, person)  # the same person again: a further income
            return
        if person is not None:
            self.error(
                number,
                "id_number",
                _("身份证号与第%(row)s行重复(户编号 %(key)s)")
                % {"row": person.row, "key": group.key},
            )
            return
        person = group.people[key] = PersonRow(row=number, values=values, resident=resident)
        if resident:
            seen = self.person_rows.get(key)
            if seen is not None:
                self.error(
                    number,
                    "id_number",
                    _("身份证号与第%(row)s行重复(户编号 %(key)s)")
                    % {"row": seen[0], "key": seen[1]},
                )
            else:
                self.person_rows[key] = (number, group.key)
        self.member_values(number, values, person)
        self.income(number, values, person)

    def member_values(self, number: int, values: dict, person: PersonRow) -> None:
        if values.get("relation"):
            values["relation"] = self.choice(number, "relation", values["relation"])
        attributes: dict = {}
        for key in ("disability_category", "work_ability", "schooling", "employment"):
            if values.get(key):
                attributes[key] = self.choice(number, key, values[key])
        if values.get("disability_grade"):
            try:
                attributes["disability_grade"] = int(values["disability_grade"])
            except ValueError:
                self.error(number, "disability_grade", _("残疾等级须为1至4级"))
        if values.get("serious_illness") is not None:
            try:
                attributes["serious_illness"] = _bool(values["serious_illness"])
            except CellError as problem:
                self.error(number, "serious_illness", problem.message)
        if None in attributes.values():
            return  # the bad choice is reported already
        try:
            person.attributes = services.check_member_attributes(attributes)
        except DomainError as problem:
            self.error(number, problem.field, problem.message)

    def income(self, number: int, values: dict, person: PersonRow) -> None:
        given = {key: values.get(key) for key in INCOME_FIELDS if values.get(key)}
        if not given:
            return
        missing = [key for key in INCOME_FIELDS[:3] if key not in given]
        for key in missing:
            self.error(number, key, _("填写收入时必填"))
        if missing:
            return
        income_type = self.choice(number, "income_type", given["income_type"])
        try:
            amount = services.check_amount(given["monthly_amount"], field="monthly_amount")
            check_value(IncomeItem, "monthly_amount", amount)
        except DomainError as problem:
            self.error(number, "monthly_amount", problem.message)
            amount = None
        try:
            valid_from = _date(given["income_valid_from"])
            valid_to = _date(given["income_valid_to"]) if "income_valid_to" in given else None
            check_value(IncomeItem, "valid_from", valid_from, field="income_valid_from")
            if valid_to is not None:
                check_value(IncomeItem, "valid_to", valid_to, field="income_valid_to")
            services.check_period(valid_from, valid_to)
        except CellError as problem:
            self.error(number, "income_valid_from", problem.message)
            return
        except DomainError as problem:
            column = problem.field if problem.field in INCOME_FIELDS else "income_valid_to"
            self.error(number, column, problem.message)
            return
        if income_type and amount is not None:
            person.incomes.append((income_type, amount, valid_from, valid_to))

    def finish(self) -> None:
        """Checks across rows and against the database, in bulk."""
        self.villages()
        for group in self.groups.values():
            heads = [p for p in group.people.values() if p.values.get("relation") == "head"]
            if len(heads) != 1:
                self.error(group.first_row, "relation", _("每户须有且只有一名户主"))
        self.people_registered_elsewhere()

    def villages(self) -> None:
        codes = {g.values["village_code"] for g in self.groups.values() if g.values["village_code"]}
        found = {}
        for chunk in _chunks(sorted(codes)):
            found.update({r.code: r for r in Region.objects.filter(code__in=chunk)})
        for group in self.groups.values():
            code = group.values["village_code"]
            if not code:
                continue
            village = found.get(code)
            if (
                village is None
                or not covers(self.by, code)
                or (
                    self.village_scope is not None
                    and not code.startswith(self.village_scope.prefix)
                )
            ):
                self.error(group.first_row, "village_code", _("区划代码不存在或超出您的管辖区域"))
            elif village.level != Region.Level.VILLAGE:
                self.error(group.first_row, "village_code", _("家庭须登记在村/社区一级"))
            else:
                group.village = village

    def people_registered_elsewhere(self) -> None:
        for chunk in _chunks(sorted(self.person_rows)):
            existing = Member.objects.select_related("household__village").filter(
                id_number__in=chunk, is_active=True
            )
            for member in existing:
                row = self.person_rows[member.id_number][0]
                error = services.duplicate_person_error(member, by=self.by)
                self.error(row, "id_number", error.message)


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---- the import ---------------------------------------------------------------------------


def import_households(
    *, content: bytes, filename: str, by: User, village_scope: Region | None = None
) -> ImportResult:
    """Validate a whole spreadsheet of households and members, then import it all or nothing.

    Rules are those of the services (resident ID check digit, one active household per person,
    bank account check, village level inside the user's subtree, one head per household),
    checked in bulk. ``village_scope`` further limits the villages the file may name (a
    township importing its own roll). Returns the counts, or the row-by-row errors and nothing
    written.
    """
    validator = _Validator(by=by, village_scope=village_scope)
    rows = read_rows(content, filename)
    positions: dict[int, str] | None = None
    for number, cells in rows:
        if positions is None:
            positions = validator.header(cells)
            if validator.errors:
                return ImportResult(errors=validator.errors)
            continue
        validator.row(number, cells, positions)
    if positions is None or (not validator.groups and not validator.errors):
        raise ImportFileError(_("文件中没有数据"), field="file", code="empty")
    validator.finish()
    if validator.errors:
        validator.errors.sort(key=lambda error: error.row)
        return ImportResult(errors=validator.errors)
    try:
        return _write(validator.groups.values(), by=by, filename=filename)
    except IntegrityError:
        # Someone registered one of these people since the check: report it like the check.
        validator.errors.clear()
        validator.people_registered_elsewhere()
        if not validator.errors:
            raise
        return ImportResult(errors=validator.errors)


def _write(groups: Iterable[HouseholdGroup], *, by: User, filename: str) -> ImportResult:
    with transaction.atomic(), bulk_history_context(import_file=filename, imported_by=by.pk):
        return _insert(list(groups))


def _insert(groups: list[HouseholdGroup]) -> ImportResult:
    households = Household.objects.bulk_create(
        Household(
            village=group.village,
            # bulk_create skips save(), which derives the scope key from the village.
            region_code=group.village.code,
            address=group.values["address"],
            hukou_type=group.values["hukou_type"],
            bank_name=group.values["bank_name"],
            bank_account_holder=group.values["bank_account_holder"],
            bank_account_number=group.values["bank_account_number"],
        )
        for group in groups
    )
    people = [
        (household, p)
        for household, g in zip(households, groups, strict=True)
        for p in g.people.values()
    ]
    members = Member.objects.bulk_create(
        Member(
            household=household,
            name=person.values["name"],
            id_number=person.resident.number,
            birth_date=person.resident.birth_date,
            sex=person.resident.sex,
            relation=person.values["relation"],
            **person.attributes,
        )
        for household, person in people
    )
    # One UPDATE with a correlated subquery: bulk_update's CASE grows with the square of the rows.
    heads = Member.objects.filter(household=OuterRef("pk"), relation=Member.Relation.HEAD)
    Household.objects.filter(pk__in=[h.pk for h in households]).update(
        head=Subquery(heads.values("pk")[:1])
    )
    incomes = IncomeItem.objects.bulk_create(
        IncomeItem(
            member=member,
            type=income_type,
            monthly_amount=amount,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        for member, (_household, person) in zip(members, people, strict=True)
        for income_type, amount, valid_from, valid_to in person.incomes
    )
    refresh_household_facts(household_ids=[h.pk for h in households])
    return ImportResult(households=len(households), members=len(members), incomes=len(incomes))


# ---- the template -------------------------------------------------------------------------


def template_csv() -> bytes:
    """The header row as CSV, UTF-8 with a BOM so that Excel opens it with the right encoding."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(column.label for column in COLUMNS)
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """A workbook: the sheet to fill (text-formatted ID and account columns) and a help sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "家庭成员"
    sheet.append([column.label for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = max(12, len(column.label) * 3)
        if column.key in TEXT_ONLY or column.key == "village_code":
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    help_sheet = workbook.create_sheet("说明")
    help_sheet.append(["列 column", "键 key", "必填 required", "说明 notes"])
    for column in COLUMNS:
        help_sheet.append([column.label, column.key, "是" if column.required else "", column.help])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

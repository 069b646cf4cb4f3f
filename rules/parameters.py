"""Policy parameters: the component catalogue, the values in force, and the seed loader.

A parameter value is a ``Standard`` row: (region, category, component, value, effective_from).
The value in force for a region and month is resolved by ``resolve_parameters``:

* the most specific region wins: the county's row over the city's, the city's over the
  province's; among one region's rows, the latest ``effective_from`` on or before the month;
* a row for the enrolment's category wins over the general row (category "");
* a component with no row anywhere takes the catalogue default below (national rules), with
  version 0; a component with no default (the standard itself) must have a row.

Every component is documented in ``CATALOGUE``: the rules components below, and those other apps
add with ``register_component`` (casework's notice period, deadlines, delegation and review
intervals); docs/parameters.md is generated from it by ``catalogue_markdown``. Money values are
yuan per month; shares are fractions (0.65 = 65%); multiples are of the monthly dibao standard.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from beneficiaries.models import Region
from core.months import first_of_month
from rules import engine
from rules.engine import ROUNDING_LABELS, Params
from rules.models import Standard

SEED_PATH = Path(settings.BASE_DIR) / "seeds" / "data" / "standards.json"


@dataclass(frozen=True)
class Component:
    """One kind of policy value: its name, Chinese label, unit, national default and meaning."""

    name: str
    label: str
    unit: str
    default: Decimal | None
    doc: str
    group: str
    # The range of values that make sense (a notice of 0 days is no notice).
    minimum: Decimal = Decimal(0)
    maximum: Decimal | None = None


def _components(group: str, *rows: tuple) -> list[Component]:
    return [
        Component(name, label, unit, None if default is None else Decimal(default), doc, group)
        for name, label, unit, default, doc in rows
    ]


_ROUNDING_CODES = "; ".join(f"{code} = {label}" for code, label in ROUNDING_LABELS.items())

CATALOGUE: dict[str, Component] = {
    c.name: c
    for c in [
        *_components(
            "低保 dibao",
            (
                "standard",
                "低保标准",
                "元/人/月",
                None,
                "The city's (or county's) dibao standard. Every amount below that is a share "
                "or a multiple is a share or multiple of this value.",
            ),
            (
                "floor_share",
                "保底补差比例",
                "share of the standard",
                "0",
                "Optional floor of the difference rule: when a person's gap is smaller, pay "
                "this share of the standard instead (0 = off; 0.2 is seen in practice).",
            ),
        ),
        *_components(
            "取整 rounding",
            (
                "rounding_quantum",
                "取整单位",
                "元",
                "1",
                "Each member's amount is rounded once, at the end, to a multiple of this "
                "(1 = whole yuan, 0.01 = fen). The household amount is the sum of its members'.",
            ),
            (
                "rounding_mode",
                "取整方式",
                "code",
                "1",
                f"How amounts are rounded to the quantum: {_ROUNDING_CODES}.",
            ),
        ),
        *_components(
            "分类施保 classified supplements",
            *[
                row
                for name, label, full, share, who in (
                    ("serious_illness", "重病", "1", "0.2", "a seriously ill member"),
                    (
                        "severe_disability",
                        "重度残疾",
                        "1",
                        "0",
                        "a member with disability grade at most severe_disability_max_grade",
                    ),
                    ("elderly", "老年人", "0", "0.1", "a member aged elderly_age or more"),
                    ("minor", "未成年人", "0", "0.1", "a member younger than minor_age"),
                    ("living_alone", "独居", "0", "0.1", "the member of a one-person household"),
                )
                for row in (
                    (
                        f"supplement_{name}_full",
                        f"分类施保（{label}）按全额标准",
                        "0 or 1",
                        "0",
                        f"1: {who} is paid the full standard instead of the gap. Catalogue "
                        f"default 0 (no supplements); Jiangsu practice: {full}.",
                    ),
                    (
                        f"supplement_{name}_share",
                        f"分类施保（{label}）加发比例",
                        "share of the standard",
                        "0",
                        f"{who.capitalize()} gets this share of the standard on top. A member "
                        f"in several classes gets the one that pays most. Jiangsu practice: "
                        f"{share}.",
                    ),
                )
            ],
            ("elderly_age", "老年人年龄", "years", "60", "Age from which a member is elderly."),
            ("minor_age", "成年年龄", "years", "18", "A member younger than this is a minor."),
            (
                "severe_disability_max_grade",
                "重度残疾等级",
                "grade",
                "2",
                "Disability grades 1 to this count as severe (supplements, gradual exit).",
            ),
        ),
        *_components(
            "特困 extreme poverty",
            (
                "tekun_multiplier",
                "特困基本生活标准倍数",
                "multiple of the standard",
                "1.3",
                "Basic living of a 特困 person: at least this multiple of the standard.",
            ),
            (
                "minimum_wage",
                "最低工资标准",
                "元/月",
                "0",
                "The monthly minimum wage, of which care allowances may be a share.",
            ),
            *[
                row
                for level, label in (
                    ("self_care", "生活自理"),
                    ("partial", "部分失能"),
                    ("full", "完全失能"),
                )
                for row in (
                    (
                        f"care_{level}_amount",
                        f"照料护理费（{label}）固定金额",
                        "元/月",
                        "0",
                        f"Fixed part of the care allowance of a {label} person.",
                    ),
                    (
                        f"care_{level}_share",
                        f"照料护理费（{label}）最低工资比例",
                        "share of the minimum wage",
                        "0",
                        f"Care allowance of a {label} person as a share of the minimum wage, "
                        "added to the fixed part (e.g. 1/10, 1/6, 1/4 by level).",
                    ),
                )
            ],
        ),
        *_components(
            "困境儿童 children",
            (
                "orphan_institution_amount",
                "集中供养孤儿基本生活费",
                "元/人/月",
                None,
                "Monthly amount for an orphan in an institution (Zhenjiang 2024: 3132).",
            ),
            (
                "orphan_community_share",
                "散居孤儿比例",
                "share of the institution amount",
                "0.65",
                "An orphan in the community gets this share of the institution amount "
                "(Jiangsu: 65%), rounded; the other children's categories are shares of it.",
            ),
            (
                "unsupported_child_share",
                "事实无人抚养儿童比例",
                "share of the community-orphan amount",
                "1",
                "De-facto unsupported children: as a community orphan (some cities 0.8).",
            ),
            (
                "guardian_unable_child_share",
                "父母无力监护儿童比例",
                "share of the community-orphan amount",
                "0.6",
                "Children whose parents cannot act as guardians: at least 60%.",
            ),
            (
                "ill_disabled_child_share",
                "重病重残儿童比例",
                "share of the community-orphan amount",
                "0.5",
                "Seriously ill or severely disabled children: at least 50%.",
            ),
        ),
        *_components(
            "低保边缘与渐退 marginal families, gradual exit",
            (
                "marginal_multiplier",
                "低保边缘认定倍数",
                "multiple of the standard",
                "1.5",
                "A family with per-capita income from 1× up to this multiple of the standard "
                "is marginal: no monthly cash, but special aid and price subsidies.",
            ),
            (
                "gradual_exit_months",
                "渐退期",
                "months",
                "6",
                "A household whose income rises above the standard from work keeps its last "
                "amount this many months, then stops.",
            ),
            (
                "gradual_exit_months_severe",
                "渐退期（重病重残）",
                "months",
                "12",
                "The gradual exit period where a member is seriously ill or severely disabled.",
            ),
        ),
        *_components(
            "价格临时补贴 price subsidy",
            (
                "price_subsidy_trigger",
                "价格补贴启动条件",
                "CPI rise, %",
                "3",
                "From this monthly CPI rise every covered person gets standard ÷ "
                "price_subsidy_divisor, rounded half up to the yuan.",
            ),
            (
                "price_subsidy_trigger_high",
                "价格补贴提高档条件",
                "CPI rise, %",
                "5",
                "From this CPI rise the divisor is price_subsidy_divisor_high.",
            ),
            ("price_subsidy_divisor", "价格补贴除数", "divisor", "12", "Standard ÷ 12."),
            ("price_subsidy_divisor_high", "价格补贴除数（高档）", "divisor", "8", "Standard ÷ 8."),
        ),
        *_components(
            "补发与追回 back pay and recovery",
            (
                "back_pay_months",
                "补发追溯月数",
                "months",
                "24",
                "A batch recomputes the approved months this far back: what a late change "
                "raised is back-paid, what it lowered is recorded as an overpayment to recover.",
            ),
        ),
        *_components(
            "临时救助 temporary relief",
            (
                "relief_township_limit_multiple",
                "乡镇审批限额",
                "multiple of the standard",
                "3",
                "The township approves temporary relief up to this; the county above it.",
            ),
            (
                "relief_county_cap_multiple",
                "临时救助封顶",
                "multiple of the standard",
                "15",
                "No temporary relief above this, whoever approves.",
            ),
            (
                "relief_medical_max_multiple",
                "医疗支出型救助上限",
                "multiple of the standard",
                "3",
                "Medical relief for a self-paid cost up to the threshold: at most this "
                "(1.5–3× in practice).",
            ),
            (
                "relief_medical_threshold",
                "医疗自付起算额",
                "元",
                "20000",
                "Self-paid medical cost above which relief is a share of the cost.",
            ),
            (
                "relief_medical_excess_share",
                "医疗自付超额比例",
                "share of the cost",
                "0.1",
                "Above the threshold: this share of the self-paid cost, at least the amount "
                "below the threshold, at most relief_medical_cap_multiple.",
            ),
            (
                "relief_medical_cap_multiple",
                "医疗救助封顶",
                "multiple of the standard",
                "15",
                "Cap of medical relief.",
            ),
            (
                "relief_accidental_death_multiple",
                "意外死亡救助上限",
                "multiple of the standard",
                "12",
                "Relief after an accidental death: at most this.",
            ),
            (
                "relief_other_multiple",
                "其他急难救助上限",
                "multiple of the standard",
                "2",
                "Other emergencies: at most this.",
            ),
        ),
    ]
}


def register_component(component: Component) -> None:
    """Add another app's component (e.g. casework deadlines) so it can be entered (API, admin,
    seeds), resolved with its default and documented; call it from the app's
    ``AppConfig.ready``, so this layer never imports the apps above it."""
    CATALOGUE.setdefault(component.name, component)


@dataclass(frozen=True)
class ParameterRow:
    """A Standard row as the resolver needs it (from the database or from the seed file)."""

    region_code: str
    category: str
    component: str
    value: Decimal
    effective_from: datetime.date
    id: int = 0
    note: str = ""


def region_chain(region_code: str) -> list[str]:
    """The region codes whose rows apply, most specific first: county, city, province."""
    codes = [region_code[:6].ljust(12, "0"), region_code[:4].ljust(12, "0")]
    codes.append(region_code[:2].ljust(12, "0"))
    return list(dict.fromkeys(codes))


def build_params(rows: Iterable[ParameterRow], *, region_code: str, month: datetime.date) -> Params:
    """Resolve rows into the Params in force (the rules of the module docstring)."""
    month = first_of_month(month)
    chain = region_chain(region_code)
    rank = {code: position for position, code in enumerate(chain)}
    chosen: dict[tuple[str, str], ParameterRow] = {}
    for row in rows:
        if row.region_code not in rank or row.effective_from > month:
            continue
        key = (row.component, row.category)
        current = chosen.get(key)
        if current is None or (-rank[row.region_code], row.effective_from) > (
            -rank[current.region_code],
            current.effective_from,
        ):
            chosen[key] = row
    values = {
        (name, ""): component.default
        for name, component in CATALOGUE.items()
        if component.default is not None
    }
    versions = {}
    for key, row in chosen.items():
        values[key] = row.value
        versions[key] = row.id
    return Params(values, versions, region_code=region_code, month=month)


def resolve_parameters(*, region_code: str, month: datetime.date) -> Params:
    """The parameter values in force for a region (any code in it) and month."""
    month = first_of_month(month)
    chain = region_chain(region_code)
    rows = [
        ParameterRow(code, category, component, value, effective_from, pk)
        for pk, code, category, component, value, effective_from in Standard.objects.filter(
            region__code__in=chain, effective_from__lte=month
        ).values_list("pk", "region__code", "category", "component", "value", "effective_from")
    ]
    return build_params(rows, region_code=region_code, month=month)


def read_seed_rows(path: Path = SEED_PATH) -> tuple[dict, list[ParameterRow]]:
    """The seed file's regions and rows (see seeds/data/standards.json for the layout)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for block in data["standards"]:
        effective_from = datetime.date.fromisoformat(block["effective_from"])
        for key, value in block["values"].items():
            component, _, category = key.partition(":")
            if component not in CATALOGUE:
                raise ValueError(f"{path}: unknown component {component!r}")
            rows.append(
                ParameterRow(
                    block["region"],
                    category,
                    component,
                    Decimal(value),
                    effective_from,
                    note=block.get("note", "")[:200],
                )
            )
    return data["regions"], rows


@transaction.atomic
def load_standards(path: Path = SEED_PATH) -> int:
    """Load the seed standards: creates the regions and rows that are missing, touches nothing
    that exists (so it can run twice). Returns the number of rows created."""
    regions, rows = read_seed_rows(path)
    by_code = {}
    for code, attributes in regions.items():
        parent = by_code.get(attributes.get("parent", ""))
        if parent is None and attributes.get("parent"):
            parent = Region.objects.get(code=attributes["parent"])
        by_code[code], _ = Region.objects.get_or_create(
            code=code,
            defaults={"name": attributes["name"], "level": attributes["level"], "parent": parent},
        )
    existing = set(
        Standard.objects.filter(region__code__in=by_code).values_list(
            "region__code", "category", "component", "effective_from"
        )
    )
    new = [
        Standard(
            region=by_code[row.region_code],
            category=row.category,
            component=row.component,
            value=row.value,
            effective_from=row.effective_from,
            note=row.note,
        )
        for row in rows
        if (row.region_code, row.category, row.component, row.effective_from) not in existing
    ]
    Standard.objects.bulk_create(new)
    return len(new)


def catalogue_markdown() -> str:
    """docs/parameters.md: every component of the catalogue by group, then the seeded values."""
    lines = [
        "# Policy parameters (保障标准与参数)",
        "",
        "Generated from `rules/parameters.py` by `catalogue_markdown()` (a test keeps it in "
        "step); edit the catalogue or seeds/data/standards.json, not this file.",
        "",
        *__doc__.strip().splitlines()[2:],
    ]
    group = None
    for component in CATALOGUE.values():
        if component.group != group:
            group = component.group
            lines += ["", f"## {group}", "", "| component | 名称 | unit | default | meaning |"]
            lines.append("| --- | --- | --- | --- | --- |")
        default = "—" if component.default is None else str(component.default)
        lines.append(
            f"| `{component.name}` | {component.label} | {component.unit} | {default} "
            f"| {component.doc} |"
        )
    lines += ["", "## How the engine applies them (rules/engine.py)", ""]
    lines += engine.__doc__.strip().splitlines()
    regions, rows = read_seed_rows()
    lines += ["", "## Seeded values (seeds/data/standards.json)"]
    block = None
    for row in rows:
        if (row.region_code, row.effective_from) != block:
            block = (row.region_code, row.effective_from)
            name = regions[row.region_code]["name"]
            lines += ["", f"### {name} ({row.region_code}) from {row.effective_from}", ""]
            lines += [row.note, "", "| component | value |", "| --- | --- |"]
        component = f"{row.component}:{row.category}" if row.category else row.component
        lines.append(f"| `{component}` | {row.value} |")
    return "\n".join(lines) + "\n"

"""Worked explanations as caseworkers and auditors read them, in Chinese and English.

docs/parameters.md shows every example here as the code renders it (``catalogue_markdown``), and
a test keeps the file equal to the code: change a wording in rules/steps.py and the docs follow.
The engine's examples are computed with the seeded parameters (seeds/data/standards.json, each
row numbered so that the parameters show the date they took effect); the steps a batch adds
(back pay, recovery offsets, re-issues, relief instalments) are recorded as the batch records
them (payments.corrections, payments.lines).
"""

import dataclasses
import datetime
from decimal import Decimal
from typing import NamedTuple

from rules.engine import (
    EnrolmentFacts,
    HouseholdFacts,
    MemberFacts,
    Result,
    compute_amount,
    price_subsidy,
    relief_approval,
    relief_ceiling,
)
from rules.parameters import build_params, read_seed_rows
from rules.steps import EN, ZH, Source, render, step_dict

AUGUST = datetime.date(2024, 8, 1)
ZHENJIANG = "321102001001"
CHANGZHOU = "320402001001"


class Example(NamedTuple):
    title: str
    amount: Decimal
    steps: list[dict]
    versions: dict[str, int]


def _household(*incomes, ages=None, traits=None) -> HouseholdFacts:
    ages = ages or [40] * len(incomes)
    members = tuple(
        MemberFacts(n, age, Decimal(income), **(traits or {}).get(n, {}))
        for n, (income, age) in enumerate(zip(incomes, ages, strict=True), 1)
    )
    return HouseholdFacts(1, members)


def _of(title: str, result: Result) -> Example:
    return Example(title, result.amount, result.explanation(), result.versions)


def _recorded(title: str, steps: list[tuple], versions=None, amount=None) -> Example:
    amount = Decimal(steps[-1][2] if amount is None else amount)
    return Example(title, amount, [step_dict(s) for s in steps], versions or {})


def seeded() -> tuple[list, dict[int, Source]]:
    """The seed file's rows numbered 1, 2, … as Standard ids, and those ids' sources."""
    rows = [
        dataclasses.replace(row, id=number) for number, row in enumerate(read_seed_rows()[1], 1)
    ]
    return rows, {row.id: Source(row.value, row.effective_from) for row in rows}


def examples() -> list[Example]:
    rows, _sources = seeded()

    def params(region: str, month: datetime.date = AUGUST):
        return build_params(rows, region_code=region, month=month)

    zhenjiang, changzhou = params(ZHENJIANG), params(CHANGZHOU)
    three = _household(300, 300, 300)
    dibao = EnrolmentFacts(1, "dibao")
    july = compute_amount(dibao, three, params(ZHENJIANG, datetime.date(2024, 7, 1)))
    exit_amount = EnrolmentFacts(
        1,
        "dibao",
        status="gradual_exit",
        gradual_exit_amount=Decimal("1725"),
        gradual_exit_from=datetime.date(2024, 6, 1),
        gradual_exit_until=datetime.date(2024, 11, 1),
    )
    # The third member is also enrolled as a community orphan: one subsidy, on the dibao line.
    orphan = EnrolmentFacts(2, "orphan_community", member_id=3)
    august = compute_amount(dibao, three, zhenjiang)
    subsidy = price_subsidy(dibao, three, zhenjiang, Decimal("5.1"))
    shared = three._replace(coverage=((1, None, "dibao"), (2, 3, "orphan_community")))
    return [
        _of(
            "镇江市 2024-08，三口之家，家庭月计入收入 900 元（低保）",
            compute_amount(dibao, three, zhenjiang),
        ),
        _of(
            "镇江市 2024-08，同一家庭，第2位成员 70 岁、第3位成员重病（分类施保）",
            compute_amount(
                dibao,
                _household(300, 300, 300, ages=[40, 70, 40], traits={3: {"serious_illness": True}}),
                zhenjiang,
            ),
        ),
        _of(
            "常州市 2024-08，特困人员，生活自理",
            compute_amount(
                EnrolmentFacts(1, "tekun", member_id=1), _household(0, ages=[72]), changzhou
            ),
        ),
        _of(
            "镇江市 2024-08，父母无力履行监护职责儿童",
            compute_amount(
                EnrolmentFacts(1, "guardian_unable_child", member_id=1),
                _household(0, ages=[9]),
                zhenjiang,
            ),
        ),
        _of(
            "常州市 2024-08，低保边缘家庭，两口之家，家庭月计入收入 2400 元",
            compute_amount(EnrolmentFacts(1, "marginal"), _household(1200, 1200), changzhou),
        ),
        _of(
            "镇江市 2024-08，渐退：2024-06 至 2024-11 保留 1725 元",
            compute_amount(exit_amount, _household(950, 950, 950), zhenjiang),
        ),
        _of(
            "镇江市 2024-08，价格临时补贴，本月CPI涨幅 5.1%",
            price_subsidy(dibao, three, zhenjiang, Decimal("5.1")),
        ),
        _of(
            "常州市 2024-08，价格临时补贴，本月CPI涨幅 3.2%",
            price_subsidy(dibao, three, changzhou, Decimal("3.2")),
        ),
        _of(
            "镇江市 2024-08，价格临时补贴（CPI 5.1%），第3位成员另为散居孤儿：低保一行发放",
            price_subsidy(dibao, shared, zhenjiang, Decimal("5.1")),
        ),
        _of(
            "同一月，该成员的散居孤儿一行：价格临时补贴不再发放",
            price_subsidy(orphan, shared, zhenjiang, Decimal("5.1")),
        ),
        _recorded(
            "镇江市 2024-09 批次：875 元标准于 2024-09 录入、自 2024-07-01 起生效，补发 2024-07",
            [*july.steps, ("back_pay", (Decimal("1725"), Decimal("1620"), "2024-07"), 105)],
            july.versions,
        ),
        _recorded(
            "镇江市 2024-10 批次：2024-08 的CPI涨幅由 2.5% 更正为 5.1%，补发当月价格临时补贴",
            [
                *august.steps,
                *subsidy.steps,
                ("month_due", (Decimal("1725"), Decimal("327")), Decimal("2052")),
                ("back_pay", (Decimal("2052"), Decimal("1725"), "2024-08"), Decimal("327")),
            ],
            {**august.versions, **subsidy.versions},
        ),
        _recorded(
            "2024-10 批次：追回 2024-06 多发（死亡未及时报告），2024-09 已抵扣一部分",
            [
                (
                    "recovery_offset",
                    (575, 1150, "2024-06", "death", 1725, 1150, 0, "2024-09", 1150),
                    575,
                )
            ],
            amount=-575,
        ),
        _recorded(
            "2024-09 批次：2024-07 银行退回的款项，账户更正后重发",
            [("reissue", ("2024-07", "账户已销户", "6222020000000000006"), 1725)],
        ),
        _recorded(
            "2024-09 批次：临时救助 9000 元分三期发放，第二期",
            [("relief_instalment", (9000, 2, 3, "2024-09"), 3000)],
        ),
        _of(
            "镇江市，临时救助（医疗）上限，自付费用 50000 元",
            relief_ceiling(relief_type="medical", params=zhenjiang, self_paid_cost=Decimal(50000)),
        ),
        _of(
            "镇江市，临时救助（医疗）上限，自付费用 500000 元",
            relief_ceiling(relief_type="medical", params=zhenjiang, self_paid_cost=Decimal(500000)),
        ),
        _of(
            "镇江市，临时救助 3000 元：超过乡镇审批限额，须报县级审批",
            relief_approval(amount=Decimal(3000), params=zhenjiang)[1],
        ),
    ]


def rendered(example: Example, lang: str) -> str:
    """An example's text as a caseworker (ZH) or an English reader (EN) reads it."""
    _rows, sources = seeded()
    return render(
        amount=example.amount,
        steps=example.steps,
        versions=example.versions,
        sources=sources,
        lang=lang,
    )["text"]


def markdown() -> list[str]:
    """The examples section of docs/parameters.md."""
    lines = []
    for number, example in enumerate(examples(), 1):
        lines += ["", f"#### {number}. {example.title}", ""]
        for lang in (ZH, EN):
            lines += ["```text", rendered(example, lang), "```"]
    return lines

"""The words of explanations (rules.steps): every kind reads in Chinese and English, inputs in
the order the formula uses them, parameters with the date they took effect, and the worked
examples of docs/parameters.md are what the code renders."""

import dataclasses
import datetime
import re
import string
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from payments.explanations import canonical_json
from payments.models import Recovery
from rules import engine, examples, steps
from rules.engine import EnrolmentFacts, compute_amount, price_subsidy, relief_ceiling
from rules.parameters import CATALOGUE
from rules.steps import (
    EN,
    KINDS,
    LABELS,
    PARAMETERS,
    TERMS,
    UNITS,
    ZH,
    Source,
    render,
    render_step,
    step_dict,
    step_json,
    term,
)
from tests.payments.facts import enrolment, household, words

D = Decimal


def placeholders(template: str) -> set[int]:
    return {int(name) for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(KINDS))
def test_every_kind_reads_in_chinese_and_english_from_its_own_values(code):
    kind = KINDS[code]
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", code), "codes are stored: plain identifiers"
    assert kind.zh and kind.en and kind.zh != kind.en
    assert not re.search(r"[\u4e00-\u9fff]", kind.en), "no Chinese in the English rule"
    for template in (kind.zh, kind.en, kind.formula):
        assert placeholders(template) <= set(range(len(kind.inputs)))
    assert placeholders(kind.zh) == placeholders(kind.en)
    for name in (*kind.inputs, kind.result):
        assert term(name).unit in UNITS or term(name).unit in LABELS


def test_the_parameters_steps_name_are_catalogue_components_under_their_catalogue_names():
    for component, parameter in PARAMETERS.items():
        assert component in CATALOGUE, component
        assert parameter.zh == CATALOGUE[component].label
    assert not set(TERMS) & set(PARAMETERS)


def test_every_care_level_supplement_class_and_child_share_the_engine_knows_has_its_words():
    assert [level for level, *_ in steps.CARE_LEVELS] == list(engine.CARE_LEVELS)
    assert [name for name, *_ in steps.SUPPLEMENT_CLASSES] == list(engine.SUPPLEMENT_CLASSES)
    assert {category for category, *_ in steps.CHILD_SHARES} == engine.CHILD_CATEGORIES - {
        engine.ORPHAN_INSTITUTION,
        engine.ORPHAN_COMMUNITY,
    }


def test_labels_of_recovery_reasons_are_those_of_the_model():
    assert {code: zh for code, (zh, _en) in LABELS["recovery_reason"].items()} == {
        code: str(label) for code, label in Recovery.Reason.choices
    }


def test_inputs_come_in_the_order_the_formula_uses_them_with_chinese_names(params_for):
    result = compute_amount(
        enrolment(), household(300, 300, 300), params_for("zhenjiang", "2024-08")
    )
    gap = next(step for step in words(result) if step["step"] == "gap")
    # Sorted by name, 人均月收入 would come first: the formula takes the standard first.
    assert gap["formula"] == "875 − 300 = 575"
    assert [(i["name"], i["value"]) for i in gap["inputs"]] == [
        ("低保标准", "875 元"),
        ("人均月收入", "300 元"),
    ]
    english = next(step for step in words(result, EN) if step["step"] == "gap")
    assert [i["name"] for i in english["inputs"]] == ["dibao standard", "per-capita monthly income"]


def test_parameters_read_as_name_value_and_date_and_only_those_the_line_used(params_for, seed_rows):
    numbered = [dataclasses.replace(row, id=n) for n, row in enumerate(seed_rows, 1)]
    sources = {row.id: Source(row.value, row.effective_from) for row in numbered}
    params = params_for("zhenjiang", "2024-08", numbered)
    result = compute_amount(enrolment(), household(300, 300, 300), params)

    words_zh = render(amount=result.amount, steps=result.explanation(), versions=result.versions,
                      sources=sources)  # fmt: skip
    words_en = render(amount=result.amount, steps=result.explanation(), versions=result.versions,
                      sources=sources, lang=EN)  # fmt: skip

    # 875 × 3 needs no rounding, no supplement applies: the standard is all this line used.
    assert [p["text"] for p in words_zh["parameters"]] == ["低保标准 875 元（2024-07-01 起）"]
    assert [p["text"] for p in words_en["parameters"]] == [
        "dibao standard 875 yuan (from 2024-07-01)"
    ]
    assert list(result.versions) == ["standard"]
    assert "standard#" not in words_zh["text"] and "#" not in words_zh["text"]


def test_a_parameter_with_no_row_reads_as_the_default():
    step = {"result": "575", "step": "gap", "values": ["875", "300"]}
    (standard,) = render(amount=575, steps=[step], versions={}, sources={})["parameters"]
    assert standard["text"] == "低保标准 875 元（默认值）"


def test_the_price_subsidy_gives_the_cpi_rise_recorded_and_the_tier_it_met(params_for):
    params = params_for("zhenjiang", "2024-08")
    high = words(price_subsidy(enrolment(), household(0, 0, 0), params, D("5.1")))[0]
    low = words(price_subsidy(enrolment(), household(0, 0, 0), params, D("3.2")))[0]

    assert high["rule"] == (
        "价格临时补贴（高档）：本月CPI涨幅 5.1%，达到提高档条件 5%，每名保障对象发放 低保标准 ÷ 8"
    )
    assert high["formula"] == "875 ÷ 8 = 109.375"
    assert low["rule"].startswith("价格临时补贴：本月CPI涨幅 3.2%，达到启动条件 3%")
    english = words(price_subsidy(enrolment(), household(0), params, D("5.1")), EN)[0]
    assert "the CPI rose 5.1% this month, reaching the higher trigger of 5%" in english["rule"]


def test_a_gradual_exit_gives_its_period_and_which_month_of_it_this_is(params_for):
    exit_ = enrolment(
        status="gradual_exit",
        gradual_exit_amount=D("1725"),
        gradual_exit_from=datetime.date(2024, 6, 1),
        gradual_exit_until=datetime.date(2024, 11, 1),
    )
    (step,) = words(compute_amount(exit_, household(950, 950), params_for("zhenjiang", "2024-08")))
    assert step["rule"] == (
        "渐退：因就业收入超过标准，渐退期 2024-06 至 2024-11（共 6 个月），本月为第 3 个月，"
        "保留最后一次批准的金额，期满停发"
    )
    assert step["result"] == "1725 元"


def test_a_gradual_exit_of_unknown_start_gives_its_end(params_for):
    facts = EnrolmentFacts(
        1, "dibao", status="gradual_exit", gradual_exit_amount=D("600"),
        gradual_exit_until=datetime.date(2025, 1, 1),
    )  # fmt: skip
    (step,) = words(compute_amount(facts, household(0), params_for("zhenjiang", "2024-08")))
    assert "渐退期至 2025-01 止" in step["rule"]


@pytest.mark.parametrize(
    ("cost", "ceiling", "by"),
    [("50000", "5000", "本例按自付费用比例"), ("500000", "13125", "本例按封顶额")],
)
def test_the_relief_ceiling_shows_the_three_figures_compared_and_which_won(
    params_for, cost, ceiling, by
):
    result = relief_ceiling(
        relief_type="medical", params=params_for("zhenjiang", "2024-08"), self_paid_cost=D(cost)
    )
    last = words(result)[-1]
    by_share = str(int(D(cost) / 10))
    assert last["formula"] == f"max(min({by_share}, 13125), 2625) = {ceiling}"
    assert [i["name"] for i in last["inputs"]][:3] == [
        "按自付费用比例计算",
        "封顶额",
        "起付额以内的上限",
    ]
    assert last["rule"].endswith(by)


def test_a_step_stored_before_steps_had_codes_reads_as_written_its_inputs_in_formula_order():
    written = {
        "rule": "差额补助：低保标准 − 人均月收入，不低于0",
        "formula": "875 − 300 = 575",
        "inputs": {"人均月收入": "300", "低保标准": "875"},  # as stored: sorted by name
        "result": "575",
    }
    read = render_step(written, EN)
    assert (read["rule"], read["formula"], read["result"]) == (
        written["rule"],
        "875 − 300 = 575",
        "575",
    )
    assert [i["name"] for i in read["inputs"]] == ["低保标准", "人均月收入"]
    text = render(
        amount=575,
        steps=[written],
        versions={"standard": 7},
        sources={7: Source(D("875.0000"), datetime.date(2024, 7, 1))},
    )["text"]
    assert text.endswith("所用参数：低保标准 875 元（2024-07-01 起）")


@pytest.mark.parametrize("example", examples.examples(), ids=lambda e: e.title)
def test_the_worked_examples_in_the_docs_are_what_the_code_renders(example):
    docs = (Path(settings.BASE_DIR) / "docs" / "parameters.md").read_text(encoding="utf-8")
    for lang in (ZH, EN):
        assert f"```text\n{examples.rendered(example, lang)}\n```" in docs
    assert "#" not in examples.rendered(example, ZH)


@pytest.mark.parametrize(
    "numbers",
    [
        (Decimal("0"), Decimal("-0"), 0),
        (Decimal("-0"), Decimal("0.00"), Decimal("-0.00")),
        (Decimal("875.00"), 875, Decimal("875"), Decimal("8.75E+2")),
        (Decimal("0.123456"), Decimal("0.1234560"), Decimal("-0.5")),
    ],
)
def test_a_number_in_a_step_reads_the_same_whatever_was_written_before(numbers):
    # step_json remembers a number's text by value: equal values read alike, but for zero.
    for number in numbers:
        raw = ("gap", (number, 3), number)
        assert step_json(raw) == canonical_json(step_dict(raw))

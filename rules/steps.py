"""The words of an explanation: every kind of step a computation records, and how it reads.

Whatever computes an amount (the rules engine; the batch's back pay, recovery offsets, re-issues
and relief instalments) records each step as three things: the **code** of its kind, its
**values** in the order its formula uses them, and its **result**. That is all that is stored
(payments.explanations keeps one canonical JSON text per distinct explanation, a step being
``{"result": "575", "step": "gap", "values": ["875", "300"]}``). The words are put on when
someone reads it, in their language, from the kind's entry in ``KINDS``: a caseworker in Chinese
and an auditor in English read the same stored steps, and a better wording reaches every
explanation ever stored.

A kind names each of its values (a ``TERMS`` entry, or a parameter by its component name, with
the catalogue's Chinese name), gives its rule in Chinese and English (``{n}`` puts value n in,
with its unit), its formula over the values by position, and what its result is. A reader sees
the rule, the formula with the numbers, the inputs in the order the formula uses them and the
result; then the parameters the steps used, each once, with the date its Standard row took
effect ("低保标准 875 元（2024-07-01 起）"). A result names the Standard rows of exactly those
parameters.

To add a step (a new rule, or a line the batch adds):

1. Add its kind to ``KINDS`` in rules/steps.py: a new code (codes are stored: never rename or
   reuse one), the name of each value in formula order, the formula, the rule in both
   languages, the name of the result. A value that is neither in ``TERMS`` nor a parameter gets
   a ``TERMS`` entry; a value that is a code (a reason, a tier) gets ``LABELS``.
2. Record it where it is computed: ``steps.append(("my_code", (value, ...), result))``, values
   as Decimals, ints or short texts (months as "2024-08", codes of ``LABELS``).
3. Add an example that uses it to rules/examples.py. docs/parameters.md shows every example as
   the code renders it, and a test fails until the file is regenerated
   (``catalogue_markdown()``).

tests/payments/test_steps.py checks that every kind reads in both languages and uses each of its
values, and that its parameters are catalogue components under their catalogue names.
Explanations stored before steps had codes (rule, formula, inputs and result as Chinese text)
read as they were written, their inputs in the order their values appear in the formula.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

ZH = "zh"
EN = "en"
LANGUAGES = (ZH, EN)
_FOUR_PLACES = Decimal("0.0001")


def fmt(value) -> str:
    """A number as people write it: 875, 109.375, 0.65 (at most four decimals); text as it is."""
    if value.__class__ is not Decimal:
        return str(value)
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    if "." not in text:
        return text
    whole, _, decimals = text.partition(".")
    if len(decimals) > 4:
        whole, _, decimals = str(value.quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)).partition(
            "."
        )
    decimals = decimals.rstrip("0")
    if decimals:
        return f"{whole}.{decimals}"
    return "0" if whole == "-0" else whole


# ---------------------------------------------------------------------------------------------
# What values are: units, labels, terms and parameters.

# How a value of each unit reads: (Chinese, English), the value put in for {}.
UNITS = {
    "": ("{}", "{}"),
    "yuan": ("{} 元", "{} yuan"),
    "persons": ("{} 人", "{} persons"),
    "percent": ("{}%", "{}%"),
    "multiple": ("{} 倍", "{}×"),
    "months": ("{} 个月", "{} months"),
    "years": ("{} 岁", "{} years"),
    "grade": ("{} 级", "grade {}"),
    "position": ("第{}位", "no. {}"),
    "nth_month": ("第 {} 个月", "month {}"),
    "nth_instalment": ("第 {} 期", "instalment {}"),
    "instalments": ("{} 期", "{} instalments"),
}
# English for one of a count.
_ONE = {"persons": "1 person", "months": "1 month", "instalments": "1 instalment"}

# Values that are codes, and what each code reads as.
LABELS = {
    "rounding_mode": {
        "1": ("四舍五入", "round half up"),
        "2": ("四舍六入五成双", "round half to even"),
        "3": ("舍去", "round down"),
        "4": ("进一", "round up"),
    },
    "recovery_reason": {
        "death": ("死亡未及时报告", "death not reported in time"),
        "hidden_income": ("隐瞒收入", "hidden income"),
        "overpayment": ("其他多发", "other overpayment"),
    },
    "relief_tier": {
        "township": ("乡镇审批", "the township approves"),
        "county": ("须报县级审批", "needs the county's approval"),
        "none": ("不能审批", "cannot be approved"),
    },
    "scheme": {
        "dibao": ("低保", "dibao"),
        "single_dibao": ("单人保", "single-person dibao"),
        "tekun": ("特困供养", "extreme-poverty support"),
        "orphan_institution": ("集中供养孤儿", "orphan in an institution"),
        "orphan_community": ("散居孤儿", "orphan in the community"),
        "unsupported_child": ("事实无人抚养儿童", "de-facto unsupported child"),
        "guardian_unable_child": ("父母无力履行监护职责儿童", "child whose parents cannot care"),
        "ill_disabled_child": ("重病重残儿童", "seriously ill or disabled child"),
        "marginal": ("低保边缘家庭", "marginal family"),
    },
    "relief_ceiling_by": {
        "share": ("按自付费用比例", "the share of the self-paid cost"),
        "cap": ("按封顶额", "the cap"),
        "base": ("按起付额以内的上限", "the ceiling below the threshold"),
    },
}


class Term(NamedTuple):
    """What a value is: its name in Chinese and English, and its unit (a key of UNITS or of
    LABELS)."""

    zh: str
    en: str
    unit: str = ""


# Values that are not parameters.
TERMS: dict[str, Term] = {
    "amount": Term("金额", "amount", "yuan"),
    "household_size": Term("家庭人口", "household size", "persons"),
    "household_income": Term("家庭月计入收入", "household's counted monthly income", "yuan"),
    "member_income": Term("本人月计入收入", "member's counted monthly income", "yuan"),
    "per_capita": Term("人均月收入", "per-capita monthly income", "yuan"),
    "gap": Term("差额补助", "gap", "yuan"),
    "each": Term("每人金额", "amount per person", "yuan"),
    "covered": Term("保障人数", "persons covered", "persons"),
    "others": Term("其余人数", "other members", "persons"),
    "member": Term("成员", "member", "position"),
    "basic": Term("基本生活费", "basic living allowance", "yuan"),
    "care": Term("照料护理费", "care allowance", "yuan"),
    "community": Term("散居孤儿标准", "community orphan amount", "yuan"),
    "threshold": Term("低保边缘认定线", "marginal-family threshold", "yuan"),
    "cpi_rise": Term("本月CPI涨幅", "CPI rise of the month", "percent"),
    "other_scheme": Term("另一项保障", "other enrolment", "scheme"),
    "paid_on": Term("补贴发放于", "subsidy paid on", "scheme"),
    "exit_amount": Term("渐退期金额", "amount kept in gradual exit", "yuan"),
    "exit_from": Term("渐退起始月份", "first month of the gradual exit"),
    "exit_until": Term("渐退截止月份", "last month of the gradual exit"),
    "exit_month": Term("本月为渐退期", "this month is", "nth_month"),
    "exit_months": Term("渐退期", "gradual exit period", "months"),
    "self_paid_cost": Term("医疗自付费用", "self-paid medical cost", "yuan"),
    "by_share": Term("按自付费用比例计算", "share of the self-paid cost", "yuan"),
    "relief_cap": Term("封顶额", "cap", "yuan"),
    "relief_base": Term("起付额以内的上限", "ceiling below the threshold", "yuan"),
    "ceiling_by": Term("取值", "taken from", "relief_ceiling_by"),
    "relief_amount": Term("救助金额", "relief amount", "yuan"),
    "approval": Term("审批", "approval", "relief_tier"),
    "township_limit": Term("乡镇审批限额", "township's approval limit", "yuan"),
    "county_cap": Term("临时救助封顶额", "relief cap", "yuan"),
    "due": Term("现应发", "due now", "yuan"),
    "monthly_due": Term("按月保障金", "monthly amount", "yuan"),
    "subsidy_due": Term("价格临时补贴", "price subsidy", "yuan"),
    "granted": Term("当时已发", "paid then", "yuan"),
    "back_pay_month": Term("补发月份", "month back-paid"),
    "failed_month": Term("原发放月份", "month of the failed transfer"),
    "failure_reason": Term("失败原因", "reason given by the bank"),
    "failed_account": Term("原账号", "account refused"),
    "owed": Term("尚欠", "still owed", "yuan"),
    "available": Term("本月应发", "due to the household this month", "yuan"),
    "overpaid_month": Term("多发月份", "month overpaid"),
    "overpaid": Term("多发金额", "amount overpaid", "yuan"),
    "reason": Term("原因", "reason", "recovery_reason"),
    "recovered": Term("此前已追回", "recovered before", "yuan"),
    "carried": Term("结转下月", "carried to next month", "yuan"),
    "offset": Term("本月抵扣", "offset this month", "yuan"),
    "approved": Term("批准金额", "amount approved", "yuan"),
    "instalment": Term("本期", "this is", "nth_instalment"),
    "instalments": Term("分期数", "paid in", "instalments"),
    "due_month": Term("发放月份", "month due"),
}

# Parameters (rules.parameters.CATALOGUE), by component: the Chinese name is the catalogue's
# label (a test keeps them equal).
PARAMETERS: dict[str, Term] = {
    "standard": Term("低保标准", "dibao standard", "yuan"),
    "floor_share": Term("保底补差比例", "floor share"),
    "rounding_quantum": Term("取整单位", "rounding unit", "yuan"),
    "rounding_mode": Term("取整方式", "rounding mode", "rounding_mode"),
    "elderly_age": Term("老年人年龄", "elderly from age", "years"),
    "minor_age": Term("成年年龄", "age of majority", "years"),
    "severe_disability_max_grade": Term("重度残疾等级", "severe disability up to", "grade"),
    "tekun_multiplier": Term("特困基本生活标准倍数", "tekun multiple of the standard", "multiple"),
    "minimum_wage": Term("最低工资标准", "minimum wage", "yuan"),
    "orphan_institution_amount": Term(
        "集中供养孤儿基本生活费", "institution orphan amount", "yuan"
    ),
    "orphan_community_share": Term("散居孤儿比例", "community orphan share"),
    "marginal_multiplier": Term("低保边缘认定倍数", "marginal-family multiple", "multiple"),
    "price_subsidy_trigger": Term("价格补贴启动条件", "price subsidy trigger", "percent"),
    "price_subsidy_trigger_high": Term(
        "价格补贴提高档条件", "price subsidy higher-tier trigger", "percent"
    ),
    "price_subsidy_divisor": Term("价格补贴除数", "price subsidy divisor"),
    "price_subsidy_divisor_high": Term("价格补贴除数（高档）", "price subsidy divisor (higher)"),
    "relief_township_limit_multiple": Term("乡镇审批限额", "township approval limit", "multiple"),
    "relief_county_cap_multiple": Term("临时救助封顶", "relief cap", "multiple"),
    "relief_medical_max_multiple": Term("医疗支出型救助上限", "medical relief ceiling", "multiple"),
    "relief_medical_threshold": Term("医疗自付起算额", "medical self-paid threshold", "yuan"),
    "relief_medical_excess_share": Term("医疗自付超额比例", "share of the self-paid cost"),
    "relief_medical_cap_multiple": Term("医疗救助封顶", "medical relief cap", "multiple"),
    "relief_accidental_death_multiple": Term(
        "意外死亡救助上限", "accidental death relief ceiling", "multiple"
    ),
    "relief_other_multiple": Term("其他急难救助上限", "other emergency relief ceiling", "multiple"),
}

# (class, Chinese, English, the parameter that bounds the class, how the rule names the bound)
SUPPLEMENT_CLASSES = (
    ("serious_illness", "重病", "serious illness", "", ""),
    ("severe_disability", "重度残疾", "severe disability", "severe_disability_max_grade", "≤"),
    ("elderly", "老年人", "elderly", "elderly_age", "≥"),
    ("minor", "未成年人", "minor", "minor_age", "<"),
    ("living_alone", "独居", "living alone", "", ""),
)
CARE_LEVELS = (
    ("self_care", "生活自理", "fully self-caring"),
    ("partial", "部分失能", "partly disabled"),
    ("full", "完全失能", "fully disabled"),
)
CHILD_SHARES = (
    ("unsupported_child", "事实无人抚养儿童基本生活补贴", "de-facto unsupported child"),
    ("guardian_unable_child", "父母无力履行监护职责儿童补贴", "child whose parents cannot care"),
    ("ill_disabled_child", "重病重残儿童补贴", "seriously ill or disabled child"),
)

for _name, _zh, _en, _bound, _op in SUPPLEMENT_CLASSES:
    PARAMETERS[f"supplement_{_name}_share"] = Term(
        f"分类施保（{_zh}）加发比例", f"supplement share ({_en})"
    )
for _level, _zh, _en in CARE_LEVELS:
    PARAMETERS[f"care_{_level}_amount"] = Term(
        f"照料护理费（{_zh}）固定金额", f"care allowance, fixed part ({_en})", "yuan"
    )
    PARAMETERS[f"care_{_level}_share"] = Term(
        f"照料护理费（{_zh}）最低工资比例", f"care allowance, share of minimum wage ({_en})"
    )
PARAMETERS["unsupported_child_share"] = Term("事实无人抚养儿童比例", "unsupported child share")
PARAMETERS["guardian_unable_child_share"] = Term("父母无力监护儿童比例", "guardian-unable share")
PARAMETERS["ill_disabled_child_share"] = Term("重病重残儿童比例", "ill or disabled child share")


def term(name: str) -> Term:
    return TERMS.get(name) or PARAMETERS[name]


# ---------------------------------------------------------------------------------------------
# The kinds of steps.


class Repeat(NamedTuple):
    """Pairs of values after a kind's own: the first names the pair's input (``zh``/``en`` with
    {} for it, in ``unit``), the second is its value (``value_unit``); ``in_sum`` adds the
    seconds to the formula as a sum."""

    zh: str
    en: str
    unit: str
    value_unit: str
    in_sum: bool


class Kind(NamedTuple):
    """One kind of step. ``inputs`` names each value (a TERMS key or a parameter component) in
    the order the formula uses them; ``zh``/``en`` are the rule, with ``{n}`` for value n;
    ``formula`` is over the values by position and ends with " = result" when ``equation``."""

    zh: str
    en: str
    inputs: tuple[str, ...] = ()
    formula: str = ""
    result: str = "amount"
    equation: bool = True
    repeat: Repeat | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(name for name in self.inputs if name in PARAMETERS)


_ROUNDING = ("rounding_quantum", "rounding_mode")
_MULTIPLE = ("standard",)

KINDS: dict[str, Kind] = {
    # -- every category
    "not_paid": Kind("保障暂停或已停止，本月不发放", "Suspended or stopped: nothing is paid"),
    "not_present": Kind(
        "保障对象本月不在户或已故，不发放",
        "The person covered is not in the household this month, or has died: nothing is paid",
    ),
    "no_members": Kind(
        "本月家庭无在户在世成员，不发放",
        "No living member is in the household this month: nothing is paid",
    ),
    "gradual_exit": Kind(
        "渐退：因就业收入超过标准，渐退期 {1} 至 {2}（共 {4}），本月为{3}，"
        "保留最后一次批准的金额，期满停发",
        "Gradual exit: income from work rose above the standard; from {1} to {2} ({4}) the "
        "household keeps its last approved amount, then it stops; this is {3}",
        ("exit_amount", "exit_from", "exit_until", "exit_month", "exit_months"),
    ),
    "gradual_exit_until": Kind(
        "渐退：因就业收入超过标准，渐退期至 {1} 止，期内保留最后一次批准的金额，期满停发",
        "Gradual exit: income from work rose above the standard; until {1} the household "
        "keeps its last approved amount, then it stops",
        ("exit_amount", "exit_until"),
    ),
    "round": Kind("取整：{2}到 {1}", "Rounding: {2} to {1}", ("amount", *_ROUNDING)),
    "round_member": Kind(
        "取整（{0}成员）：{3}到 {2}",
        "Rounding (member {0}): {3} to {2}",
        ("member", "amount", *_ROUNDING),
    ),
    # -- dibao
    "household_income": Kind(
        "家庭月计入收入：在户成员计入收入之和，已扣除必要的医疗、护理、康复支出，不低于0",
        "Household's counted monthly income: the members' counted income, less necessary "
        "medical, nursing and rehabilitation costs, not below 0",
        ("household_size", "household_income"),
    ),
    "per_capita": Kind(
        "家庭人均月收入 = 家庭月计入收入 ÷ 家庭人口",
        "Per-capita monthly income = household's counted income ÷ household size",
        ("household_income", "household_size"),
        "{0} ÷ {1}",
    ),
    "gap": Kind(
        "差额补助：低保标准 − 人均月收入，不低于0",
        "Difference rule: dibao standard − per-capita income, not below 0",
        ("standard", "per_capita"),
        "{0} − {1}",
    ),
    "floor": Kind(
        "保底补差：差额低于标准的规定比例时，按该比例发放",
        "Floor: a gap smaller than this share of the standard is raised to it",
        ("standard", "floor_share"),
        "{0} × {1}",
    ),
    "household": Kind(
        "家庭月保障金 = 每人金额 × 保障人数",
        "Household's monthly amount = amount per person × persons covered",
        ("each", "covered"),
        "{0} × {1}",
    ),
    "household_sum": Kind(
        "家庭月保障金 = 其余成员金额 + 分类施保成员金额（分类施保）",
        "Household's monthly amount = the other members' amounts + each supplemented member's "
        "(classified supplements)",
        ("each", "others"),
        "{0} × {1}",
        repeat=Repeat("第{}位成员", "member {}'s amount", "", "yuan", True),
    ),
    "household_sum_supplemented": Kind(
        "家庭月保障金 = 各保障成员金额之和（分类施保）",
        "Household's monthly amount = the sum of its members' amounts (classified supplements)",
        repeat=Repeat("第{}位成员", "member {}'s amount", "", "yuan", True),
    ),
    # -- single-person dibao
    "member_income": Kind(
        "本人月计入收入：已扣除必要的医疗、护理、康复支出，不低于0",
        "Member's counted monthly income, less necessary medical, nursing and rehabilitation "
        "costs, not below 0",
        ("member_income",),
    ),
    "single_gap": Kind(
        "单人保按单人户计算：低保标准 − 本人月收入，不低于0",
        "Single-person dibao, as a household of one: dibao standard − the member's income, "
        "not below 0",
        ("standard", "member_income"),
        "{0} − {1}",
    ),
    # -- 特困
    "tekun_basic": Kind(
        "特困人员基本生活费：低保标准 × 规定倍数",
        "Tekun basic living allowance: dibao standard × the multiple",
        ("standard", "tekun_multiplier"),
        "{0} × {1}",
        "basic",
    ),
    "tekun_total": Kind(
        "特困供养金 = 基本生活费 + 照料护理费",
        "Tekun support = basic living allowance + care allowance",
        ("basic", "care"),
        "{0} + {1}",
    ),
    # -- children
    "orphan_institution": Kind(
        "集中供养孤儿基本生活费：按本市标准",
        "Orphan in an institution: the city's amount",
        ("orphan_institution_amount",),
    ),
    "orphan_community": Kind(
        "散居孤儿基本生活费 = 集中供养孤儿标准 × 规定比例，{3}到 {2}",
        "Orphan in the community = institution amount × the share, {3} to {2}",
        ("orphan_institution_amount", "orphan_community_share", *_ROUNDING),
        "{0} × {1}",
        "community",
    ),
    # -- marginal families
    "marginal_threshold": Kind(
        "低保边缘家庭认定线 = 低保标准 × 规定倍数",
        "Marginal-family threshold = dibao standard × the multiple",
        ("standard", "marginal_multiplier"),
        "{0} × {1}",
        "threshold",
    ),
    "marginal": Kind(
        "低保边缘家庭不发放按月保障金，可享受专项救助和价格临时补贴",
        "A marginal family gets no monthly amount, but special aid and price subsidies",
    ),
    # -- price subsidy
    "price_subsidy": Kind(
        "价格临时补贴：本月CPI涨幅 {3}，达到启动条件 {2}，每名保障对象发放 低保标准 ÷ {1}",
        "Price subsidy: the CPI rose {3} this month, reaching the trigger of {2}; each person "
        "covered gets dibao standard ÷ {1}",
        ("standard", "price_subsidy_divisor", "price_subsidy_trigger", "cpi_rise"),
        "{0} ÷ {1}",
    ),
    "price_subsidy_high": Kind(
        "价格临时补贴（高档）：本月CPI涨幅 {3}，达到提高档条件 {2}，每名保障对象发放 "
        "低保标准 ÷ {1}",
        "Price subsidy (higher tier): the CPI rose {3} this month, reaching the higher trigger "
        "of {2}; each person covered gets dibao standard ÷ {1}",
        ("standard", "price_subsidy_divisor_high", "price_subsidy_trigger_high", "cpi_rise"),
        "{0} ÷ {1}",
    ),
    "price_subsidy_here": Kind(
        "{0}成员另有{1}保障：其价格临时补贴在本行发放，{1}一行不再发放（每人每月一份）",
        "Member {0} is also covered as {1}: their price subsidy is paid on this line, not on "
        "the {1} line (one per person per month)",
        ("member", "other_scheme"),
        result="paid_on",
        equation=False,
    ),
    "price_subsidy_elsewhere": Kind(
        "{0}成员的价格临时补贴由其{1}保障一行发放，本行不再发放（每人每月一份）",
        "Member {0}'s price subsidy is paid on their {1} line, not on this one (one per person "
        "per month)",
        ("member", "other_scheme"),
        result="paid_on",
        equation=False,
    ),
    "round_yuan": Kind("取整：四舍五入到元", "Rounding: half up to the yuan", ("amount",)),
    "price_total": Kind(
        "价格临时补贴合计 = 每人金额 × 保障人数",
        "Price subsidy = amount per person × persons covered",
        ("each", "covered"),
        "{0} × {1}",
    ),
    # -- temporary relief
    "relief_medical": Kind(
        "临时救助（医疗）：自付费用 {2}未超过起付额 {3}，上限为低保标准的规定倍数",
        "Medical relief: the self-paid cost of {2} is within the threshold of {3}; the ceiling "
        "is a multiple of the dibao standard",
        ("standard", "relief_medical_max_multiple", "self_paid_cost", "relief_medical_threshold"),
        "{0} × {1}",
    ),
    "relief_medical_below": Kind(
        "临时救助（医疗）起付额以内的上限 = 低保标准 × 规定倍数",
        "Medical relief, ceiling below the threshold = dibao standard × the multiple",
        ("standard", "relief_medical_max_multiple"),
        "{0} × {1}",
        "relief_base",
    ),
    "relief_medical_share": Kind(
        "自付费用 {0}超过起付额 {2}：按自付费用的规定比例计算",
        "The self-paid cost of {0} is above the threshold of {2}: a share of the cost",
        ("self_paid_cost", "relief_medical_excess_share", "relief_medical_threshold"),
        "{0} × {1}",
        "by_share",
    ),
    "relief_medical_cap": Kind(
        "医疗救助封顶额 = 低保标准 × 封顶倍数",
        "Medical relief cap = dibao standard × the cap multiple",
        ("standard", "relief_medical_cap_multiple"),
        "{0} × {1}",
        "relief_cap",
    ),
    "relief_medical_ceiling": Kind(
        "临时救助（医疗）上限：自付费用比例金额与封顶额取低者，但不低于起付额以内的上限；本例{3}",
        "Medical relief ceiling: the share of the cost or the cap, whichever is lower, but not "
        "below the ceiling below the threshold; here {3}",
        ("by_share", "relief_cap", "relief_base", "ceiling_by"),
        "max(min({0}, {1}), {2})",
    ),
    "relief_accidental_death": Kind(
        "临时救助（意外死亡）：不超过低保标准的规定倍数",
        "Relief after an accidental death: at most a multiple of the dibao standard",
        ("standard", "relief_accidental_death_multiple"),
        "{0} × {1}",
    ),
    "relief_other": Kind(
        "临时救助（其他急难）：不超过低保标准的规定倍数",
        "Relief for other emergencies: at most a multiple of the dibao standard",
        ("standard", "relief_other_multiple"),
        "{0} × {1}",
    ),
    "relief_township_limit": Kind(
        "乡镇审批限额 = 低保标准 × 规定倍数",
        "Township's approval limit = dibao standard × the multiple",
        ("standard", "relief_township_limit_multiple"),
        "{0} × {1}",
        "township_limit",
    ),
    "relief_county_cap": Kind(
        "临时救助封顶额 = 低保标准 × 规定倍数",
        "Relief cap = dibao standard × the multiple",
        ("standard", "relief_county_cap_multiple"),
        "{0} × {1}",
        "county_cap",
    ),
    "relief_township": Kind(
        "救助金额 {0}未超过乡镇审批限额 {1}：由乡镇审批",
        "The relief amount of {0} is within the township's limit of {1}: the township approves",
        ("relief_amount", "township_limit"),
        "{0} ≤ {1}",
        "approval",
        equation=False,
    ),
    "relief_county": Kind(
        "救助金额 {0}超过乡镇审批限额 {1}：须报县级审批（封顶 {2}）",
        "The relief amount of {0} is above the township's limit of {1}: it needs the county's "
        "approval (cap {2})",
        ("relief_amount", "township_limit", "county_cap"),
        "{1} < {0} ≤ {2}",
        "approval",
        equation=False,
    ),
    "relief_above_cap": Kind(
        "救助金额 {0}超过临时救助封顶额 {1}：不能审批",
        "The relief amount of {0} is above the relief cap of {1}: it cannot be approved",
        ("relief_amount", "county_cap"),
        "{0} > {1}",
        "approval",
        equation=False,
    ),
    # -- lines the batch adds (payments.corrections, payments.lines)
    "month_due": Kind(
        "本月应发合计 = 按月保障金 + 价格临时补贴",
        "Due for the month = the monthly amount + the price subsidy",
        ("monthly_due", "subsidy_due"),
        "{0} + {1}",
    ),
    "back_pay": Kind(
        "补发：按现有记录重算 {2} 应发（该月生效的标准和事实），减去当时已发",
        "Back pay: {2} computed again from what is now recorded (the standards and facts in "
        "force in that month), less what was paid then",
        ("due", "granted", "back_pay_month"),
        "{0} − {1}",
    ),
    "reissue": Kind(
        "失败重发：{0} 银行退回的款项（{1}）发往更正后的账户，只重发一次",
        "Re-issue: the transfer of {0} the bank returned ({1}) is paid once more, into the "
        "corrected account",
        ("failed_month", "failure_reason", "failed_account"),
    ),
    "recovery_offset": Kind(
        "追回抵扣：{2} 多发 {4}（{3}），此前已追回 {5}，尚欠 {0}；从本月应发中抵扣，"
        "本月实发不低于0，余额 {6}结转下月",
        "Recovery: {4} overpaid for {2} ({3}), {5} recovered before, {0} still owed; offset "
        "against this month's amount, never below 0; {6} is carried to next month",
        ("owed", "available", "overpaid_month", "reason", "overpaid", "recovered", "carried"),
        "min({0}, {1})",
        "offset",
        repeat=Repeat("{} 已抵扣", "offset in {}", "", "yuan", False),
    ),
    "relief_instalment": Kind(
        "临时救助分期发放：批准金额 {0}，分 {2}，本期为{1}（{3}）",
        "Temporary relief paid in stages: {0} approved in {2}; this is {1} ({3})",
        ("approved", "instalment", "instalments", "due_month"),
    ),
}

for _name, _zh, _en, _bound, _op in SUPPLEMENT_CLASSES:
    _share = f"supplement_{_name}_share"
    _bound_inputs = (_bound,) if _bound else ()
    for _kind, _at, _zh_how, _en_how, _inputs, _formula in (
        ("full", 3, "按全额标准计发，另加标准的规定比例", "the full standard, plus a share of it",
         ("member", "standard", _share), "{1} + {1} × {2}"),
        ("gap", 4, "差额补助另加标准的规定比例", "the gap plus a share of the standard",
         ("member", "gap", "standard", _share), "{1} + {2} × {3}"),
    ):  # fmt: skip
        _who = f"，{_op} {{{_at}}}" if _bound else ""
        KINDS[f"supplement_{_kind}.{_name}"] = Kind(
            f"分类施保（{_zh}{_who}）：{_zh_how}",
            f"Classified supplement ({_en}{_who.replace('，', ', ')}): {_en_how}",
            (*_inputs, *_bound_inputs),
            _formula,
        )
for _level, _zh, _en in CARE_LEVELS:
    KINDS[f"care.{_level}"] = Kind(
        f"特困人员照料护理费（{_zh}）：固定金额 + 最低工资标准 × 规定比例",
        f"Tekun care allowance ({_en}): fixed part + minimum wage × the share",
        (f"care_{_level}_amount", "minimum_wage", f"care_{_level}_share"),
        "{0} + {1} × {2}",
        "care",
    )
for _category, _zh, _en in CHILD_SHARES:
    KINDS[f"child_share.{_category}"] = Kind(
        f"{_zh} = 散居孤儿标准 × 规定比例",
        f"Allowance of a {_en} = community orphan amount × the share",
        ("community", f"{_category}_share"),
        "{0} × {1}",
    )


@functools.cache
def parameters_of(codes: tuple[str, ...]) -> frozenset[str]:
    """The parameter components the steps of these kinds use."""
    return frozenset(name for code in codes for name in KINDS[code].parameters)


# ---------------------------------------------------------------------------------------------
# The stored form of a step: {"result": "575", "step": "gap", "values": ["875", "300"]}.


def step_dict(raw: tuple) -> dict:
    """A step as recorded, ``(code, values, result)``, in the JSON-ready form that is stored."""
    code, values, result = raw
    return {"result": fmt(result), "step": code, "values": [fmt(v) for v in values]}


@functools.lru_cache(maxsize=4096)
def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def step_json(raw: tuple) -> str:
    """The canonical JSON text (keys sorted, no spaces, UTF-8 unescaped) of ``step_dict(raw)``,
    written directly: a number's text needs no escaping and codes are plain identifiers, so
    only a text value goes through ``json.dumps``. A batch does this for every new step."""
    code, values, result = raw
    parts = []
    for v in values:
        cls = v.__class__
        if cls is Decimal or cls is int:
            parts.append(_number_json(v))
        else:
            parts.append(_json_string(str(v)))
    cls = result.__class__
    result = _number_json(result) if cls is Decimal or cls is int else _json_string(str(result))
    return f'{{"result":{result},"step":"{code}","values":[{",".join(parts)}]}}'


# A number's JSON text, by value (bounded): the values of a batch's new steps recur (standards,
# sizes, shares, gaps). ``fmt`` reads a number by its value alone (875 and 875.00 read "875"),
# but for zero: -0 reads "-0", so zeros are not remembered.
_NUMBER_JSON: dict = {}
_NUMBER_JSON_LIMIT = 50_000


def _number_json(value) -> str:
    if not value:
        return f'"{fmt(value)}"'
    text = _NUMBER_JSON.get(value)
    if text is None:
        if len(_NUMBER_JSON) >= _NUMBER_JSON_LIMIT:
            _NUMBER_JSON.clear()
        text = _NUMBER_JSON[value] = f'"{fmt(value)}"'
    return text


# ---------------------------------------------------------------------------------------------
# Reading: a stored step in words.


class Source(NamedTuple):
    """A Standard row as an explanation names it: its value and the date it took effect."""

    value: Decimal
    effective_from: date


def language(code: str | None) -> str:
    """``zh`` or ``en`` from a Django language code (``zh-hans``, ``en``, ``en-us``)."""
    return EN if (code or "").lower().startswith("en") else ZH


def value_text(value: str, unit: str, lang: str) -> str:
    """A stored value as it reads, with its unit or as the label of its code."""
    index = LANGUAGES.index(lang)
    labels = LABELS.get(unit)
    if labels is not None:
        label = labels.get(value)
        return label[index] if label else value
    if value == "":
        return ("未注明", "not recorded")[index]
    if lang == EN and value == "1" and unit in _ONE:
        return _ONE[unit]
    return UNITS[unit][index].format(value)


def render_step(step: Mapping, lang: str = ZH) -> dict:
    """One stored step in words: ``{"step", "rule", "formula", "inputs": [{"name", "value",
    "parameter"?}], "result"}``, inputs in the order the formula uses them.

    A step stored before steps had codes (``{"rule", "formula", "inputs", "result"}``, Chinese)
    reads as it was written, its inputs put in the order their values appear in its formula.
    """
    if "step" not in step:
        return _render_written(step)
    code, values, result = step["step"], step["values"], step["result"]
    kind = KINDS[code]
    index = LANGUAGES.index(lang)
    own = len(kind.inputs)
    texts = [
        value_text(v, term(name).unit, lang)
        for name, v in zip(kind.inputs, values[:own], strict=True)
    ]
    inputs = []
    for name, text in zip(kind.inputs, texts, strict=True):
        entry = {"name": term(name)[index], "value": text}
        if name in PARAMETERS:
            entry["parameter"] = name
        inputs.append(entry)
    formula = kind.formula.format(*values[:own]) if kind.formula else ""
    repeat = kind.repeat
    if repeat is not None:
        sum_terms = [formula] if formula else []
        pairs = values[own:]
        for first, second in zip(pairs[0::2], pairs[1::2], strict=True):
            name = (repeat.zh, repeat.en)[index].format(value_text(first, repeat.unit, lang))
            inputs.append({"name": name, "value": value_text(second, repeat.value_unit, lang)})
            sum_terms.append(second)
        if repeat.in_sum:
            formula = " + ".join(sum_terms)
    if formula and kind.equation:
        formula = f"{formula} = {result}"
    return {
        "step": code,
        "rule": (kind.zh, kind.en)[index].format(*texts),
        "formula": formula,
        "inputs": inputs,
        "result": value_text(result, term(kind.result).unit, lang),
    }


def _render_written(step: Mapping) -> dict:
    formula = step.get("formula", "")
    inputs = list(step.get("inputs", {}).items())
    left = formula.partition(" = ")[0]

    def first_use(item) -> int:
        found = re.search(rf"(?<![\d.]){re.escape(item[1])}(?![\d.])", left) if item[1] else None
        return found.start() if found else len(left)

    inputs.sort(key=first_use)  # stable: inputs not in the formula keep their order, last
    return {
        "step": "",
        "rule": step.get("rule", ""),
        "formula": formula,
        "inputs": [{"name": name, "value": value} for name, value in inputs],
        "result": step.get("result", ""),
    }


def parameters_used(
    steps: Sequence[Mapping], versions: Mapping[str, int], sources: Mapping[int, Source], lang: str
) -> list[dict]:
    """The parameters the steps used, in the order they first appear, each with its value and
    where it came from: ``{"parameter", "name", "value", "version", "effective_from", "text"}``
    ("低保标准 875 元（2024-07-01 起）"). ``versions`` are the explanation's Standard rows
    (``component`` or ``component:category`` → id; a component with none took the catalogue
    default), ``sources`` those rows by id.

    Steps stored before steps had codes do not say which values are parameters: every version
    of such an explanation is listed, with the value of its Standard row.
    """
    by_component = {key.partition(":")[0]: vid for key, vid in versions.items()}
    listed: dict[str, dict] = {}
    coded = False
    for step in steps:
        if "step" not in step:
            continue
        coded = True
        kind = KINDS[step["step"]]
        for name, value in zip(kind.inputs, step["values"][: len(kind.inputs)], strict=True):
            if name in PARAMETERS and name not in listed:
                version = by_component.get(name, 0)
                listed[name] = _parameter(name, value, version, sources.get(version), lang)
    if not coded:
        for key, version in versions.items():
            name = key.partition(":")[0]
            source = sources.get(version)
            if name in PARAMETERS:
                value = None if source is None else fmt(source.value.normalize())
                listed[key] = _parameter(name, value, version, source, lang)
    return list(listed.values())


def _parameter(name: str, value, version: int, source: Source | None, lang: str) -> dict:
    index = LANGUAGES.index(lang)
    parameter = PARAMETERS[name]
    shown = "" if value is None else value_text(value, parameter.unit, lang)
    if source is not None:
        where = ("（{} 起）", " (from {})")[index].format(source.effective_from.isoformat())
    elif version:
        where = ("（参数记录 #{}）", " (parameter record #{})")[index].format(version)
    else:
        where = ("（默认值）", " (national default)")[index]
    return {
        "parameter": name,
        "name": parameter[index],
        "value": shown,
        "version": version or None,
        "effective_from": source.effective_from.isoformat() if source else None,
        "text": f"{parameter[index]} {shown}{where}" if shown else f"{parameter[index]}{where}",
    }


HEADINGS = {
    ZH: {
        "amount": "金额：{} 元。计算过程：",
        "formula": "   计算：",
        "inputs": "   依据：",
        "result": "   结果：",
        "parameters": "所用参数：",
        "separator": "；",
        "list": "、",
    },
    EN: {
        "amount": "Amount: {} yuan. How it was computed:",
        "formula": "   Formula: ",
        "inputs": "   Inputs: ",
        "result": "   Result: ",
        "parameters": "Parameters used: ",
        "separator": "; ",
        "list": "; ",
    },
}


def render(
    *,
    amount,
    steps: Sequence[Mapping],
    versions: Mapping[str, int],
    sources: Mapping[int, Source],
    lang: str = ZH,
) -> dict:
    """An explanation in words: ``{"steps": [...], "parameters": [...], "text": "..."}``, the
    text being what a caseworker reads or prints (steps numbered, then the parameters used)."""
    rendered = [render_step(step, lang) for step in steps]
    parameters = parameters_used(steps, versions, sources, lang)
    words = HEADINGS[lang]
    lines = [words["amount"].format(fmt(amount))]
    for number, step in enumerate(rendered, 1):
        lines.append(f"{number}. {step['rule']}")
        if step["formula"]:
            lines.append(words["formula"] + step["formula"])
        if step["inputs"]:
            inputs = words["separator"].join(f"{i['name']} {i['value']}" for i in step["inputs"])
            lines.append(words["inputs"] + inputs)
        lines.append(words["result"] + step["result"])
    if parameters:
        lines.append(words["parameters"] + words["list"].join(p["text"] for p in parameters))
    return {"steps": rendered, "parameters": parameters, "text": "\n".join(lines)}

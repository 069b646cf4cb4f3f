"""The rules engine: one enrolment, its household's facts and the parameters in force
→ an amount and the steps that explain it.

Pure Python over frozen snapshots: no database, no Django. It reads top to bottom like the
policy (DOMAIN.md "Monthly amounts"); every number it uses is a parameter (docs/parameters.md):

1. 渐退 gradual exit pays the last approved amount (``gradual_exit_amount``) until the exit
   ends; a suspended or stopped enrolment pays nothing.
2. 低保 dibao, the difference rule: per-capita income = the members' counted income (deductible
   costs already subtracted; a negative total counts as 0) ÷ household size; gap = standard −
   per-capita income, never below 0, raised to ``floor_share`` × standard when that is larger.
   Each covered member gets the gap, and the household the sum of its members' amounts.
   分类施保: a member in a supplement class (seriously ill, severely disabled, elderly, minor,
   living alone) gets, instead, the gap or the full standard (``supplement_*_full``) plus
   ``supplement_*_share`` × standard; in several classes, the one that pays most.
3. 单人保 single-person dibao: the member as a one-person household with their own income, plus
   their supplement (living alone means the real household has one member).
4. 特困: ``tekun_multiplier`` × standard + the care allowance of the care level (a fixed amount
   + a share of ``minimum_wage``); no care level recorded counts as fully self-caring.
5. 困境儿童: orphans in an institution get ``orphan_institution_amount``; community orphans a
   share of it (rounded); the other children's categories a share of the community amount.
6. 低保边缘 marginal families: no monthly cash (amount 0, with the threshold explained).
7. 价格临时补贴 (``price_subsidy``): standard ÷ divisor per covered person, rounded to the yuan,
   when the month's CPI rise reaches the trigger.

Rounding happens once, at the end of each member's amount (``rounding_quantum``,
``rounding_mode``). Steps name members by their position in the household, so the explanation
depends only on the facts; ``Result.members`` maps positions to member ids.

Speed matters (a province's batch is a million households): per-category constants are derived
once per ``Params`` and steps are recorded as plain tuples, formatted only when read.
"""

from __future__ import annotations

import functools
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import NamedTuple

ZERO = Decimal(0)
ONE = Decimal(1)
_FOUR_PLACES = Decimal("0.0001")

# Category values (casework.models.Category), as plain strings so the engine imports no Django.
DIBAO = "dibao"
SINGLE_DIBAO = "single_dibao"
TEKUN = "tekun"
ORPHAN_INSTITUTION = "orphan_institution"
ORPHAN_COMMUNITY = "orphan_community"
UNSUPPORTED_CHILD = "unsupported_child"
GUARDIAN_UNABLE_CHILD = "guardian_unable_child"
ILL_DISABLED_CHILD = "ill_disabled_child"
MARGINAL = "marginal"
HOUSEHOLD_CATEGORIES = frozenset({DIBAO, MARGINAL})
CHILD_CATEGORIES = frozenset(
    {
        ORPHAN_INSTITUTION,
        ORPHAN_COMMUNITY,
        UNSUPPORTED_CHILD,
        GUARDIAN_UNABLE_CHILD,
        ILL_DISABLED_CHILD,
    }
)
CATEGORIES = HOUSEHOLD_CATEGORIES | CHILD_CATEGORIES | {SINGLE_DIBAO, TEKUN}

# Enrolment status values (casework.models.Enrolment.Status).
ACTIVE = "active"
GRADUAL_EXIT = "gradual_exit"

# Care levels (casework.models.CareLevel); an empty level is treated as fully self-caring.
CARE_LEVELS = ("self_care", "partial", "full")
CARE_LABELS = {"self_care": "生活自理", "partial": "部分失能", "full": "完全失能"}

# The parameter ``rounding_mode`` is stored as a number (every Standard value is a Decimal).
ROUNDING_MODES = {1: ROUND_HALF_UP, 2: ROUND_HALF_EVEN, 3: ROUND_DOWN, 4: ROUND_UP}
ROUNDING_LABELS = {1: "四舍五入", 2: "四舍六入五成双", 3: "舍去", 4: "进一"}

# Classified supplements (分类施保): (class, label). A member in several classes gets the one
# that pays most; supplements do not add up (Jiangsu: 就高不重复).
SUPPLEMENT_CLASSES = (
    ("serious_illness", "重病"),
    ("severe_disability", "重度残疾"),
    ("elderly", "老年人"),
    ("minor", "未成年人"),
    ("living_alone", "独居"),
)


class MissingParameter(LookupError):
    """A rule needs a parameter that has no value in force for the region and month."""


# ---------------------------------------------------------------------------------------------
# Facts: frozen snapshots fed to the engine.


# Facts are named tuples: immutable, compared by value, and made a million times per batch at a
# seventh of the cost of a frozen dataclass.


class MemberFacts(NamedTuple):
    """A living member active in the household in the month.

    ``counted_income`` is the member's counted monthly income minus deductible costs (necessary
    medical, nursing and rehabilitation costs); it may be negative when costs exceed income.
    """

    member_id: int
    age: int
    counted_income: Decimal
    serious_illness: bool = False
    disability_grade: int | None = None
    disability_category: str = ""


class HouseholdFacts(NamedTuple):
    household_id: int
    members: tuple[MemberFacts, ...]


class EnrolmentFacts(NamedTuple):
    enrolment_id: int
    category: str
    member_id: int | None = None
    care_level: str = ""
    status: str = ACTIVE
    gradual_exit_amount: Decimal | None = None


# ---------------------------------------------------------------------------------------------
# Explanation: steps and results.


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a computation: the rule applied, the formula with numbers, inputs, result."""

    rule: str
    formula: str
    inputs: dict[str, str]
    result: str

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "formula": self.formula,
            "inputs": dict(self.inputs),
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Step:
        return cls(
            rule=data["rule"],
            formula=data["formula"],
            inputs=dict(data["inputs"]),
            result=data["result"],
        )


def _fmt(value) -> str:
    """A number as people write it: 875, 109.375, 0.65 (at most four decimals)."""
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


def render_step(raw: tuple) -> dict:
    """One raw step as the JSON-ready dict stored in an explanation (the batch caches these)."""
    rule, template, names, values, value = raw
    texts = [_fmt(v) for v in values]
    result = _fmt(value)
    return {
        "rule": rule,
        "formula": f"{template.format(*texts)} = {result}" if template else "",
        "inputs": dict(zip(names, texts, strict=True)),
        "result": result,
    }


@functools.lru_cache(maxsize=4096)
def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def _json_parts(names: tuple, template: str) -> tuple[tuple[int, ...], tuple[str, ...], str]:
    """What step_json needs of a step's constant parts, escaped once: the positions of the
    inputs in name order, each name as a JSON string, the template escaped for a JSON string."""
    order = tuple(sorted(range(len(names)), key=names.__getitem__))
    return (
        order,
        tuple(_json_string(name) for name in names),
        json.dumps(template, ensure_ascii=False)[1:-1],
    )


def step_json(raw: tuple) -> str:
    """The canonical JSON text (keys sorted, no spaces, UTF-8 unescaped) of ``render_step(raw)``,
    written directly: rules, templates and names are a few hundred constant strings, escaped
    once and cached, and the numbers ``_fmt`` writes need no escaping. Five times faster than
    building the dict and serializing it, which a batch does for every new step."""
    rule, template, names, values, value = raw
    order, quoted_names, escaped_template = _json_parts(names, template)
    numeric = True
    texts = []
    for v in values:
        if v.__class__ is not Decimal and v.__class__ is not int:
            numeric = False
        texts.append(_fmt(v))
    if value.__class__ is not Decimal and value.__class__ is not int:
        numeric = False
    result = _fmt(value)
    if not numeric:  # a text among the values: escape every value the slow way
        return json.dumps(
            render_step(raw), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
    formula = f'"{escaped_template.format(*texts)} = {result}"' if template else '""'
    inputs = ",".join([f'{quoted_names[i]}:"{texts[i]}"' for i in order])
    return (
        f'{{"formula":{formula},"inputs":{{{inputs}}},"result":"{result}",'
        f'"rule":{_json_string(rule)}}}'
    )


def _render(raw: tuple) -> Step:
    return Step(**render_step(raw))


class Result:
    """The amount, the ordered steps that explain it and the Standard ids it used.

    ``members`` lists (member_id, amount) for each covered member; their sum is ``amount``.
    Treat a Result as immutable: ``versions`` may be shared between results of one ``Params``.
    """

    __slots__ = ("amount", "versions", "_members", "_each", "_raw", "_steps")

    def __init__(
        self,
        amount: Decimal,
        steps: tuple[Step, ...] = (),
        versions: dict[str, int] | None = None,
        members: tuple[tuple[int, Decimal], ...] = (),
    ):
        self.amount = amount
        self.versions = dict(versions or {})
        self._members = tuple(members)
        self._each = None
        self._raw = None
        self._steps = tuple(steps)

    @classmethod
    def _of(
        cls, amount: Decimal, raw, versions: dict, members: tuple, each: Decimal | None = None
    ) -> Result:
        # The engine's fast path: steps stay raw tuples until someone reads them, and when every
        # member gets the same ``each``, ``members`` holds the MemberFacts until it is read.
        result = object.__new__(cls)
        result.amount = amount
        result.versions = versions
        result._members = members
        result._each = each
        result._raw = raw
        result._steps = None
        return result

    @property
    def members(self) -> tuple[tuple[int, Decimal], ...]:
        if self._each is not None:
            return tuple([(member.member_id, self._each) for member in self._members])
        return self._members

    @property
    def steps(self) -> tuple[Step, ...]:
        if self._steps is None:
            self._steps = tuple(_render(raw) for raw in self._raw)
        return self._steps

    def explanation(self) -> list[dict]:
        """JSON-ready steps (PaymentLine.explanation); ``from_explanation`` reads them back."""
        if self._steps is None:
            return [render_step(raw) for raw in self._raw]
        return [step.as_dict() for step in self._steps]

    @classmethod
    def from_explanation(
        cls, *, amount: Decimal, explanation: list[dict], versions: dict[str, int] | None = None
    ) -> Result:
        return cls(amount, tuple(Step.from_dict(d) for d in explanation), versions)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return (self.amount, self.steps, self.versions) == (
            other.amount,
            other.steps,
            other.versions,
        )

    def __repr__(self) -> str:
        return f"Result(amount={self.amount!r}, steps={len(self.steps)})"


def render_explanation(result: Result) -> str:
    """The explanation in plain Chinese, for the household's notice or the caseworker's screen."""
    lines = [f"本月发放金额：{_fmt(result.amount)} 元。计算过程："]
    for number, step in enumerate(result.steps, 1):
        lines.append(f"{number}. {step.rule}")
        if step.formula:
            lines.append(f"   计算：{step.formula}")
        if step.inputs:
            inputs = "；".join(f"{name} {value}" for name, value in step.inputs.items())
            lines.append(f"   依据：{inputs}")
        lines.append(f"   结果：{step.result}")
    if result.versions:
        versions = "、".join(f"{name}#{vid}" for name, vid in sorted(result.versions.items()))
        lines.append(f"所用参数版本：{versions}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Parameters in force for one region and month.


def version_key(component: str, category: str = "") -> str:
    """How a parameter is named in ``Result.versions`` and PaymentLine.parameter_versions."""
    return f"{component}:{category}" if category else component


class Params:
    """Parameter values in force for one region and month (built by rules.parameters).

    ``values`` and ``versions`` are keyed by (component, category); a category's own value wins
    over the general one (category ""). ``versions`` holds Standard row ids; a value with no row
    (a catalogue default) has version 0.
    """

    __slots__ = ("region_code", "month", "_values", "_versions", "_compiled", "_fingerprint")

    def __init__(
        self,
        values: dict[tuple[str, str], Decimal],
        versions: dict[tuple[str, str], int] | None = None,
        *,
        region_code: str = "",
        month: date | None = None,
    ):
        self.region_code = region_code
        self.month = month
        self._values = {key: Decimal(value) for key, value in values.items()}
        self._versions = dict(versions or {})
        self._compiled: dict[tuple[str, str], _Rules] = {}
        self._fingerprint: tuple | None = None

    @property
    def fingerprint(self) -> tuple:
        """Every value and version in force, as one hashable value: two Params with the same
        fingerprint give every rule the same numbers and the same versions."""
        if self._fingerprint is None:
            self._fingerprint = (
                tuple(sorted(self._values.items())),
                tuple(sorted(self._versions.items())),
            )
        return self._fingerprint

    def _key(self, component: str, category: str) -> tuple[str, str]:
        if category and (component, category) in self._values:
            return (component, category)
        if (component, "") in self._values:
            return (component, "")
        where = f" ({category})" if category else ""
        raise MissingParameter(
            f"参数 {component}{where} 在 {self.region_code} {self.month} 无生效值"
        )

    def value(self, component: str, category: str = "") -> Decimal:
        return self._values[self._key(component, category)]

    def version(self, component: str, category: str = "") -> int:
        return self._versions.get(self._key(component, category), 0)

    @property
    def versions_used(self) -> dict[str, int]:
        """Every Standard row in force here, as ``Result.versions`` names them."""
        return {version_key(*key): vid for key, vid in self._versions.items() if vid}

    def rules(self, category: str, purpose: str = "monthly") -> _Rules:
        """The constants of one category's rule for one purpose, derived once and cached."""
        rules = self._compiled.get((category, purpose))
        if rules is None:
            rules = self._compiled[(category, purpose)] = _Rules(self, category, purpose)
        return rules


class _Rules:
    """Constants derived once from a Params for one category and purpose (the monthly amount,
    the price subsidy, gradual exit, temporary relief): the standard, rounding, supplements...

    Only what the purpose reads is read, so a region without, say, children's amounts can still
    pay dibao; ``versions`` holds the Standard ids of exactly those values.
    """

    def __init__(self, params: Params, category: str, purpose: str):
        self.params = params
        self.category = category
        self.versions: dict[str, int] = {}
        self.standard = self.read("standard")
        self.quantum = self.read("rounding_quantum").normalize()
        mode = int(self.read("rounding_mode"))
        if mode not in ROUNDING_MODES:
            raise MissingParameter(f"rounding_mode {mode} 不是有效的取整方式")
        self.rounding = ROUNDING_MODES[mode]
        self.rounding_label = f"{ROUNDING_LABELS[mode]}到 {_fmt(self.quantum)} 元"
        self.rounding_rule = f"{R_ROUND}：{self.rounding_label}"
        # The ages a rule compares a member's age with, sorted: it reads ages in no other way
        # (see facts_key). Rules that set none do not read ages.
        self.age_thresholds: tuple[int, ...] = ()
        compile_purpose = _COMPILERS.get(category if purpose == "monthly" else purpose)
        if compile_purpose is not None:
            compile_purpose(self)

    def read(self, component: str) -> Decimal:
        key = self.params._key(component, self.category)
        vid = self.params._versions.get(key)
        if vid:
            self.versions[version_key(*key)] = vid
        return self.params._values[key]


# ---------------------------------------------------------------------------------------------
# Rule texts (the "rule" of each step): what a caseworker, an auditor and the household read.

R_GRADUAL_EXIT = "渐退：因就业收入超过标准，渐退期内保留最后一次批准的金额，期满停发"
R_NOT_PAID = "保障暂停或已停止，本月不发放"
R_NOT_PRESENT = "保障对象本月不在户或已故，不发放"
R_NO_MEMBERS = "本月家庭无在户在世成员，不发放"
R_INCOME = "家庭月计入收入：在户成员计入收入之和，已扣除必要的医疗、护理、康复支出，不低于0"
R_MEMBER_INCOME = "本人月计入收入：已扣除必要的医疗、护理、康复支出，不低于0"
R_PER_CAPITA = "家庭人均月收入 = 家庭月计入收入 ÷ 家庭人口"
R_GAP = "差额补助：低保标准 − 人均月收入，不低于0"
R_SINGLE_GAP = "单人保按单人户计算：低保标准 − 本人月收入，不低于0"
R_FLOOR = "保底补差：差额低于标准的规定比例时，按该比例发放"
R_ROUND = "取整"
R_HOUSEHOLD = "家庭月保障金 = 每人金额 × 保障人数"
R_HOUSEHOLD_SUM = "家庭月保障金 = 各保障成员金额之和（分类施保）"
R_SUPPLEMENT_FULL = "分类施保（{}）：按全额标准计发，另加标准的规定比例"
R_SUPPLEMENT_GAP = "分类施保（{}）：差额补助另加标准的规定比例"
R_TEKUN_BASE = "特困人员基本生活费：不低于低保标准 × 规定倍数"
R_CARE = "特困人员照料护理费（{}）：固定金额 + 最低工资标准 × 规定比例"
R_TEKUN_TOTAL = "特困供养金 = 基本生活费 + 照料护理费"
R_ORPHAN_INSTITUTION = "集中供养孤儿基本生活费：按本市标准"
R_ORPHAN_COMMUNITY = "散居孤儿基本生活费 = 集中供养孤儿标准 × 规定比例"
R_CHILD_SHARE = {
    UNSUPPORTED_CHILD: "事实无人抚养儿童基本生活补贴 = 散居孤儿标准 × 规定比例",
    GUARDIAN_UNABLE_CHILD: "父母无力履行监护职责儿童补贴 = 散居孤儿标准 × 规定比例",
    ILL_DISABLED_CHILD: "重病重残儿童补贴 = 散居孤儿标准 × 规定比例",
}
R_MARGINAL_THRESHOLD = "低保边缘家庭认定线 = 低保标准 × 规定倍数"
R_MARGINAL = "低保边缘家庭不发放按月保障金，可享受专项救助和价格临时补贴"
R_PRICE_PER_PERSON = "价格临时补贴：CPI涨幅达到{}%，每名保障对象发放 低保标准 ÷ {}，取整到元"
R_PRICE_TOTAL = "价格临时补贴合计 = 每人金额 × 保障人数"
R_RELIEF_MEDICAL = "临时救助（医疗）：自付费用在起付额以内，不超过低保标准的规定倍数"
R_RELIEF_MEDICAL_EXCESS = "临时救助（医疗）：自付费用超过起付额，按费用的规定比例，不超过封顶倍数"
R_RELIEF_DEATH = "临时救助（意外死亡）：不超过低保标准的规定倍数"
R_RELIEF_OTHER = "临时救助（其他）：不超过低保标准的规定倍数"

N_INCOME = ("家庭人口", "家庭月计入收入")
N_PER_CAPITA = ("家庭月计入收入", "家庭人口")
N_GAP = ("低保标准", "人均月收入")
N_MULTIPLE = ("低保标准", "倍数")
# Members are named by their position in the household (the order of HouseholdFacts.members),
# so an explanation depends only on the facts and may be shared by identical households.
N_FULL = ("成员序号", "低保标准", "加发比例")
N_GAP_PLUS = ("成员序号", "差额补助", "低保标准", "加发比例")
N_ROUND_MEMBER = ("成员序号", "金额")


# ---------------------------------------------------------------------------------------------
# What each rule reads, derived once per Params (see _Rules).


def _compile_dibao(r: _Rules) -> None:
    r.floor_share = r.read("floor_share")
    r.floor = r.standard * r.floor_share
    supplements = []
    for name, label in SUPPLEMENT_CLASSES:
        full = r.read(f"supplement_{name}_full") != ZERO
        share = r.read(f"supplement_{name}_share")
        if full or share:
            rule = (R_SUPPLEMENT_FULL if full else R_SUPPLEMENT_GAP).format(label)
            supplements.append((name, rule, full, share, r.standard * share))
    r.supplements = tuple(supplements)
    if supplements:
        r.elderly_age = int(r.read("elderly_age"))
        r.minor_age = int(r.read("minor_age"))
        r.severe_grade = int(r.read("severe_disability_max_grade"))
        r.age_thresholds = tuple(sorted((r.minor_age, r.elderly_age)))


def _compile_tekun(r: _Rules) -> None:
    r.multiplier = r.read("tekun_multiplier")
    r.basic = r.standard * r.multiplier
    common = r.versions
    minimum_wage = r.read("minimum_wage")
    r.care = {}
    for level in CARE_LEVELS:
        r.versions = dict(common)
        fixed = r.read(f"care_{level}_amount")
        share = r.read(f"care_{level}_share")
        r.care[level] = (fixed, share, minimum_wage, fixed + minimum_wage * share, r.versions)
    r.versions = common


def _compile_child(r: _Rules) -> None:
    r.institution = r.read("orphan_institution_amount")
    if r.category != ORPHAN_INSTITUTION:
        r.community_share = r.read("orphan_community_share")
        r.community = (r.institution * r.community_share).quantize(r.quantum, r.rounding)
    if r.category not in (ORPHAN_INSTITUTION, ORPHAN_COMMUNITY):
        r.child_share = r.read(f"{r.category}_share")


def _compile_marginal(r: _Rules) -> None:
    r.marginal_multiplier = r.read("marginal_multiplier")
    r.threshold = r.standard * r.marginal_multiplier


def _compile_price(r: _Rules) -> None:
    r.trigger = r.read("price_subsidy_trigger")
    r.trigger_high = r.read("price_subsidy_trigger_high")
    r.divisor = r.read("price_subsidy_divisor")
    r.divisor_high = r.read("price_subsidy_divisor_high")


def _compile_gradual_exit(r: _Rules) -> None:
    r.severe_grade = int(r.read("severe_disability_max_grade"))
    r.months = int(r.read("gradual_exit_months"))
    r.months_severe = int(r.read("gradual_exit_months_severe"))


def _compile_relief(r: _Rules) -> None:
    r.relief = {
        name: r.read(f"relief_{name}")
        for name in (
            "township_limit_multiple",
            "county_cap_multiple",
            "medical_max_multiple",
            "medical_threshold",
            "medical_excess_share",
            "medical_cap_multiple",
            "accidental_death_multiple",
            "other_multiple",
        )
    }


_COMPILERS = {
    DIBAO: _compile_dibao,
    SINGLE_DIBAO: _compile_dibao,
    TEKUN: _compile_tekun,
    MARGINAL: _compile_marginal,
    "price": _compile_price,
    "gradual_exit": _compile_gradual_exit,
    "relief": _compile_relief,
    **{category: _compile_child for category in CHILD_CATEGORIES},
}


# ---------------------------------------------------------------------------------------------
# The rules.


def covered_persons(enrolment: EnrolmentFacts, household: HouseholdFacts) -> int:
    """Household categories cover every living member in the household; others cover one."""
    if enrolment.category in HOUSEHOLD_CATEGORIES:
        return len(household.members)
    return 1 if _covered_member(enrolment, household) is not None else 0


def _covered_member(enrolment: EnrolmentFacts, household: HouseholdFacts) -> MemberFacts | None:
    for member in household.members:
        if member.member_id == enrolment.member_id:
            return member
    return None


def compute_amount(enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params) -> Result:
    """The monthly amount of one enrolment, with its explanation (see the module docstring)."""
    status = enrolment.status
    if status == GRADUAL_EXIT:
        amount = enrolment.gradual_exit_amount or ZERO
        return Result._of(amount, ((R_GRADUAL_EXIT, "", (), (), amount),), {}, ())
    if status != ACTIVE:
        return Result._of(ZERO, ((R_NOT_PAID, "", (), (), ZERO),), {}, ())
    rule = _RULES.get(enrolment.category)
    if rule is None:
        raise ValueError(f"unknown category {enrolment.category!r}")
    return rule(enrolment, household, params.rules(enrolment.category))


def facts_key(enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params) -> tuple:
    """What ``compute_amount`` and ``price_subsidy`` read of the facts, and nothing else: under
    one Params (and one CPI figure) enrolments with equal keys get equal Results, the same amount,
    steps and versions (only ``Result.members`` names member ids). Households share their facts
    by the thousand (a dibao household of three with 900 counted income is one case), so a batch
    computes each key once.

    Each rule's key names what that rule reads, as the rule reads it: the household's size and
    counted income, and for a supplement the member's class facts by position (the steps name
    members by position); an age only by its band among the rule's ``age_thresholds``, which are
    all it compares ages with. A rule that comes to read another fact must add it to its key:
    tests/payments/test_engine_properties.py checks equal keys for equal results over facts
    drawn to collide.
    """
    status = enrolment.status
    category = enrolment.category
    if status == ACTIVE:
        key = _KEYS.get(category)
        if key is None:  # compute_amount refuses an unknown category
            return (status, category, enrolment.enrolment_id)
        return (status, category, *key(enrolment, household, params.rules(category)))
    if status == GRADUAL_EXIT:  # the recorded amount, and the persons a price subsidy covers
        persons = covered_persons(enrolment, household)
        return (status, category, enrolment.gradual_exit_amount, persons)
    return (status,)


def _class_facts(member: MemberFacts, r: _Rules) -> tuple:
    """What the supplement classes read of a member (see _member_amount)."""
    return (
        member.serious_illness,
        member.disability_grade,
        bisect_right(r.age_thresholds, member.age),
    )


def _dibao_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    size, income = _household_income(household)
    if not r.supplements:
        return (size, income)
    return (size, income, tuple([_class_facts(member, r) for member in household.members]))


def _single_dibao_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    member = _covered_member(enrolment, household)
    if member is None:
        return (None,)
    income = member.counted_income if member.counted_income > ZERO else ZERO
    if not r.supplements:
        return (income,)
    position = household.members.index(member)
    return (income, len(household.members), position, _class_facts(member, r))


def _tekun_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    return (_covered_member(enrolment, household) is not None, enrolment.care_level)


def _child_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    return (_covered_member(enrolment, household) is not None,)


def _marginal_key(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> tuple:
    return _household_income(household)


def _household_income(household: HouseholdFacts) -> tuple[int, Decimal]:
    income = ZERO
    for member in household.members:
        income += member.counted_income
    return len(household.members), (income if income > ZERO else ZERO)


def _dibao(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    size, income = _household_income(household)
    if size == 0:
        return Result._of(ZERO, ((R_NO_MEMBERS, "", (), (), ZERO),), r.versions, ())
    per_capita = income / size
    gap = r.standard - per_capita
    if gap < ZERO:
        gap = ZERO
    steps = [
        (R_INCOME, "", N_INCOME, (size, income), income),
        (R_PER_CAPITA, "{0} ÷ {1}", N_PER_CAPITA, (income, size), per_capita),
        (R_GAP, "{0} − {1}", N_GAP, (r.standard, per_capita), gap),
    ]
    base = _floor(gap, r, steps) if gap < r.floor else gap
    if r.supplements and _any_supplement(household.members, size, r):
        return _with_supplements(household.members, base, r, steps)
    each = _round(base, r, steps)
    amount = each * size
    steps.append((R_HOUSEHOLD, "{0} × {1}", ("每人金额", "保障人数"), (each, size), amount))
    return Result._of(amount, steps, r.versions, household.members, each)


def _floor(gap: Decimal, r: _Rules, steps: list) -> Decimal:
    if gap < r.floor:
        steps.append(
            (R_FLOOR, "{0} × {1}", ("低保标准", "保底比例"), (r.standard, r.floor_share), r.floor)
        )
        return r.floor
    return gap


def _may_be_supplemented(member: MemberFacts, size: int, r: _Rules) -> bool:
    """A quick test before the details: could this member fall in any supplement class?"""
    return (
        size == 1
        or member.serious_illness
        or member.disability_grade is not None
        or not r.minor_age <= member.age < r.elderly_age
    )


def _any_supplement(members: tuple[MemberFacts, ...], size: int, r: _Rules) -> bool:
    for member in members:
        if _may_be_supplemented(member, size, r):
            return True
    return False


def _round(amount: Decimal, r: _Rules, steps: list, position: int = 0) -> Decimal:
    rounded = amount.quantize(r.quantum, rounding=r.rounding)
    if rounded != amount:
        if position:
            steps.append((r.rounding_rule, "", N_ROUND_MEMBER, (position, amount), rounded))
        else:
            steps.append((r.rounding_rule, "", ("金额",), (amount,), rounded))
    return rounded


def _member_amount(
    member: MemberFacts, position: int, size: int, base: Decimal, r: _Rules
) -> tuple[Decimal, tuple | None]:
    """A member's unrounded amount under the best supplement class, and the step that shows it.

    A member in several classes gets the class that pays most (supplements do not add up).
    """
    best, step = base, None
    for name, rule, full, share, extra in r.supplements:
        if name == "serious_illness":
            qualifies = member.serious_illness
        elif name == "severe_disability":
            grade = member.disability_grade
            qualifies = grade is not None and grade <= r.severe_grade
        elif name == "elderly":
            qualifies = member.age >= r.elderly_age
        elif name == "minor":
            qualifies = member.age < r.minor_age
        else:
            qualifies = size == 1
        if not qualifies:
            continue
        if full:
            amount = r.standard + extra
            if amount > best:
                values = (position, r.standard, share)
                best, step = amount, (rule, "{1} + {1} × {2}", N_FULL, values, amount)
        else:
            amount = base + extra
            if amount > best:
                values = (position, base, r.standard, share)
                best, step = amount, (rule, "{1} + {2} × {3}", N_GAP_PLUS, values, amount)
    return best, step


def _with_supplements(
    members: tuple[MemberFacts, ...], base: Decimal, r: _Rules, steps: list
) -> Result:
    """Members in a supplement class get their own amount; the others the gap, each rounded."""
    size = len(members)
    each = _round(base, r, steps)
    amounts = []
    supplemented = []
    for position, member in enumerate(members, 1):
        if not _may_be_supplemented(member, size, r):
            amounts.append((member.member_id, each))
            continue
        amount, step = _member_amount(member, position, size, base, r)
        if step is None:
            amounts.append((member.member_id, each))
            continue
        steps.append(step)
        amount = _round(amount, r, steps, position)
        amounts.append((member.member_id, amount))
        supplemented.append((f"第{position}位成员", amount))
    plain = size - len(supplemented)
    if not supplemented:
        total = each * size
        steps.append((R_HOUSEHOLD, "{0} × {1}", ("每人金额", "保障人数"), (each, size), total))
        return Result._of(total, steps, r.versions, tuple(amounts))
    # The sum step reads "575 × 2 + 633 = 1783": the others' gap times their number, then each
    # supplemented member's amount.
    if plain:
        names = ["每人金额", "其余人数"]
        values = [each, plain]
        total = each * plain
    else:
        names, values, total = [], [], ZERO
    for name, amount in supplemented:
        names.append(name)
        values.append(amount)
        total += amount
    template = _sum_template(bool(plain), len(supplemented))
    steps.append((R_HOUSEHOLD_SUM, template, tuple(names), tuple(values), total))
    return Result._of(total, steps, r.versions, tuple(amounts))


@functools.cache
def _sum_template(with_plain: bool, supplemented: int) -> str:
    first = 2 if with_plain else 0
    terms = ["{0} × {1}"] if with_plain else []
    terms += [f"{{{i}}}" for i in range(first, first + supplemented)]
    return " + ".join(terms)


def _single_dibao(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, ((R_NOT_PRESENT, "", (), (), ZERO),), r.versions, ())
    income = member.counted_income if member.counted_income > ZERO else ZERO
    gap = r.standard - income
    if gap < ZERO:
        gap = ZERO
    steps = [
        (R_MEMBER_INCOME, "", ("本人月计入收入",), (income,), income),
        (R_SINGLE_GAP, "{0} − {1}", ("低保标准", "本人月收入"), (r.standard, income), gap),
    ]
    amount = _floor(gap, r, steps)
    if r.supplements:
        position = household.members.index(member) + 1
        amount, step = _member_amount(member, position, len(household.members), amount, r)
        if step is not None:
            steps.append(step)
    amount = _round(amount, r, steps)
    return Result._of(amount, tuple(steps), r.versions, ((member.member_id, amount),))


def _tekun(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, ((R_NOT_PRESENT, "", (), (), ZERO),), r.versions, ())
    level = enrolment.care_level or "self_care"
    fixed, share, minimum_wage, care, versions = r.care[level]
    total = r.basic + care
    steps = (
        (R_TEKUN_BASE, "{0} × {1}", ("低保标准", "倍数"), (r.standard, r.multiplier), r.basic),
        (
            R_CARE.format(CARE_LABELS[level]),
            "{0} + {1} × {2}",
            ("固定金额", "最低工资标准", "比例"),
            (fixed, minimum_wage, share),
            care,
        ),
        (R_TEKUN_TOTAL, "{0} + {1}", ("基本生活费", "照料护理费"), (r.basic, care), total),
    )
    rounding: list = []
    amount = _round(total, r, rounding)
    return Result._of(amount, steps + tuple(rounding), versions, ((member.member_id, amount),))


def _child(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    member = _covered_member(enrolment, household)
    if member is None:
        return Result._of(ZERO, ((R_NOT_PRESENT, "", (), (), ZERO),), r.versions, ())
    steps = [(R_ORPHAN_INSTITUTION, "", ("集中供养孤儿标准",), (r.institution,), r.institution)]
    category = enrolment.category
    if category == ORPHAN_INSTITUTION:
        amount = _round(r.institution, r, steps)
    else:
        amount = r.community
        steps.append(
            (
                f"{R_ORPHAN_COMMUNITY}，{r.rounding_label}",
                "{0} × {1}",
                ("集中供养孤儿标准", "比例"),
                (r.institution, r.community_share),
                amount,
            )
        )
        if category != ORPHAN_COMMUNITY:
            unrounded = r.community * r.child_share
            steps.append(
                (
                    R_CHILD_SHARE[category],
                    "{0} × {1}",
                    ("散居孤儿标准", "比例"),
                    (r.community, r.child_share),
                    unrounded,
                )
            )
            amount = _round(unrounded, r, steps)
    return Result._of(amount, tuple(steps), r.versions, ((member.member_id, amount),))


def _marginal(enrolment: EnrolmentFacts, household: HouseholdFacts, r: _Rules) -> Result:
    size, income = _household_income(household)
    steps = [(R_INCOME, "", N_INCOME, (size, income), income)]
    if size:
        per_capita = income / size
        steps.append((R_PER_CAPITA, "{0} ÷ {1}", N_PER_CAPITA, (income, size), per_capita))
    steps.append(
        (
            R_MARGINAL_THRESHOLD,
            "{0} × {1}",
            ("低保标准", "倍数"),
            (r.standard, r.marginal_multiplier),
            r.threshold,
        )
    )
    steps.append((R_MARGINAL, "", (), (), ZERO))
    return Result._of(ZERO, tuple(steps), r.versions, ())


_RULES = {
    DIBAO: _dibao,
    SINGLE_DIBAO: _single_dibao,
    TEKUN: _tekun,
    MARGINAL: _marginal,
    **{category: _child for category in CHILD_CATEGORIES},
}


_KEYS = {
    DIBAO: _dibao_key,
    SINGLE_DIBAO: _single_dibao_key,
    TEKUN: _tekun_key,
    MARGINAL: _marginal_key,
    **{category: _child_key for category in CHILD_CATEGORIES},
}


def price_subsidy(
    enrolment: EnrolmentFacts,
    household: HouseholdFacts,
    params: Params,
    cpi_rise_percent: Decimal,
) -> Result | None:
    """The price-linked subsidy (价格临时补贴) of the month, or None when it is not due.

    Every covered person gets standard ÷ divisor, rounded half up to the yuan: the low divisor
    once the CPI rise reaches the trigger, the high one from the high trigger. Enrolments in
    force (active or in gradual exit) get it, marginal families included.
    """
    if enrolment.status not in (ACTIVE, GRADUAL_EXIT) or cpi_rise_percent is None:
        return None
    r = params.rules(enrolment.category, "price")
    if cpi_rise_percent < r.trigger:
        return None
    persons = covered_persons(enrolment, household)
    if persons == 0:
        return None
    if cpi_rise_percent >= r.trigger_high:
        trigger, divisor = r.trigger_high, r.divisor_high
    else:
        trigger, divisor = r.trigger, r.divisor
    exact = r.standard / divisor
    each = exact.quantize(ONE, rounding=ROUND_HALF_UP)
    amount = each * persons
    steps = (
        (
            R_PRICE_PER_PERSON.format(_fmt(trigger), _fmt(divisor)),
            "{0} ÷ {1}",
            ("低保标准", "除数"),
            (r.standard, divisor),
            exact,
        ),
        (f"{R_ROUND}：四舍五入到元", "", ("金额",), (exact,), each),
        (R_PRICE_TOTAL, "{0} × {1}", ("每人金额", "保障人数"), (each, persons), amount),
    )
    return Result._of(amount, steps, r.versions, ())


def gradual_exit_months(household: HouseholdFacts, params: Params) -> int:
    """How many months a household in gradual exit (渐退) keeps its amount: longer where a member
    is seriously ill or severely disabled."""
    r = params.rules(DIBAO, "gradual_exit")
    for member in household.members:
        grade = member.disability_grade
        if member.serious_illness or (grade is not None and grade <= r.severe_grade):
            return r.months_severe
    return r.months


# ---------------------------------------------------------------------------------------------
# Temporary relief (临时救助): ceilings and approval tiers in multiples of the standard.

RELIEF_MEDICAL = "medical"
RELIEF_ACCIDENTAL_DEATH = "accidental_death"
RELIEF_OTHER = "other"
APPROVAL_TOWNSHIP = "township"
APPROVAL_COUNTY = "county"


def relief_ceiling(*, relief_type: str, params: Params, self_paid_cost: Decimal = ZERO) -> Result:
    """The most temporary relief of this type may pay (rounded half up to the yuan).

    Medical: a self-paid cost up to the threshold allows up to the medical maximum multiple of
    the standard; above it, the excess share of the whole cost, capped at the medical cap
    multiple and never less than below the threshold (so a cost just above it loses nothing).
    Accidental death and other emergencies: a multiple of the standard.
    """
    r = params.rules("", "relief")
    standard = r.standard
    if relief_type == RELIEF_MEDICAL:
        multiple = r.relief["medical_max_multiple"]
        amount = standard * multiple
        steps = [(R_RELIEF_MEDICAL, "{0} × {1}", N_MULTIPLE, (standard, multiple), amount)]
        if self_paid_cost > r.relief["medical_threshold"]:
            share = r.relief["medical_excess_share"]
            cap = standard * r.relief["medical_cap_multiple"]
            by_cost = min(self_paid_cost * share, cap)
            steps.append(
                (
                    R_RELIEF_MEDICAL_EXCESS,
                    "min({0} × {1}, {2})",
                    ("自付费用", "比例", "封顶金额"),
                    (self_paid_cost, share, cap),
                    by_cost,
                )
            )
            amount = max(amount, by_cost)
    elif relief_type in (RELIEF_ACCIDENTAL_DEATH, RELIEF_OTHER):
        multiple = r.relief[f"{relief_type}_multiple"]
        amount = standard * multiple
        rule = R_RELIEF_DEATH if relief_type == RELIEF_ACCIDENTAL_DEATH else R_RELIEF_OTHER
        steps = [(rule, "{0} × {1}", N_MULTIPLE, (standard, multiple), amount)]
    else:
        raise ValueError(f"unknown relief type {relief_type!r}")
    rounded = amount.quantize(ONE, rounding=ROUND_HALF_UP)
    return Result._of(rounded, tuple(steps), r.versions, ())


def relief_approval_level(*, amount: Decimal, params: Params) -> str | None:
    """Who approves temporary relief of this amount: the township up to its limit, the county
    up to the absolute cap; None above the cap (it cannot be approved)."""
    r = params.rules("", "relief")
    if amount <= r.standard * r.relief["township_limit_multiple"]:
        return APPROVAL_TOWNSHIP
    if amount <= r.standard * r.relief["county_cap_multiple"]:
        return APPROVAL_COUNTY
    return None

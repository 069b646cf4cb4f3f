"""INTERIM, removed when branch `engine` is merged: the engine's contract (INTERFACES.md) with a
single difference rule and a fixed standard, so the batch pipeline can be built and tested.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True, slots=True)
class MemberFacts:
    member_id: int
    age: int
    counted_income: Decimal
    serious_illness: bool
    disability_grade: int | None
    disability_category: str


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    household_id: int
    members: tuple[MemberFacts, ...]


@dataclass(frozen=True, slots=True)
class EnrolmentFacts:
    enrolment_id: int
    category: str
    member_id: int | None
    care_level: str
    status: str
    gradual_exit_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class Step:
    rule: str
    formula: str
    inputs: dict[str, str]
    result: str


@dataclass(frozen=True, slots=True)
class Result:
    amount: Decimal
    steps: tuple[Step, ...]
    versions: dict[str, int] = field(default_factory=dict)

    def explanation(self) -> list[dict]:
        return [
            {"rule": s.rule, "formula": s.formula, "inputs": s.inputs, "result": s.result}
            for s in self.steps
        ]


@dataclass(frozen=True, slots=True)
class Params:
    standard: Decimal = Decimal("875")

    def value(self, component: str, category: str = "") -> Decimal:
        return self.standard

    def version(self, component: str, category: str = "") -> int:
        return 0


def resolve_parameters(*, region_code: str, month) -> Params:
    return Params()


def compute_amount(enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params) -> Result:
    size = len(household.members) or 1
    income = sum((m.counted_income for m in household.members), Decimal("0"))
    per_capita = income / size
    amount = max(Decimal("0"), (params.standard - per_capita) * size)
    amount = amount.quantize(Decimal("1"), ROUND_HALF_UP)
    step = Step(
        rule="dibao.difference",
        formula="(standard - per_capita_income) * size",
        inputs={"standard": str(params.standard), "per_capita_income": str(per_capita)},
        result=str(amount),
    )
    return Result(amount=amount, steps=(step,), versions={"standard": 0})


def price_subsidy(enrolment, household, params, cpi_rise_percent: Decimal) -> Result | None:
    if cpi_rise_percent < 3:
        return None
    amount = (params.standard / 12 * len(household.members)).quantize(Decimal("1"), ROUND_HALF_UP)
    step = Step("price_subsidy", "standard / 12 * persons", {}, str(amount))
    return Result(amount=amount, steps=(step,), versions={"standard": 0})

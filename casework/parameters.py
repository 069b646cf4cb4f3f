"""Casework policy parameters: notice period, step deadlines, delegation, review intervals.

They are ``rules.Standard`` rows like every other policy value (effective dates, county over
city, resolved by ``rules.parameters.resolve_parameters``), under component names starting
with ``casework.``. ``CaseworkConfig.ready`` registers ``COMPONENTS`` in the rules catalogue
(``register_component``), so the standards API, the admin and ``load_seeds`` accept them,
docs/parameters.md lists them, and a region with no row takes the national default here.
Relief limits and the gradual-exit period are the engine's own components (``relief_*``,
``gradual_exit_months``).
"""

import datetime
from decimal import Decimal

from rules.engine import Params
from rules.parameters import Component, resolve_parameters

GROUP = "个案办理 casework"

# The most a component of each unit may be: about a year of working days, five years.
MAXIMUM = {"working days": Decimal(250), "months": Decimal(60)}

COMPONENTS = [
    Component(
        name,
        label,
        unit,
        Decimal(default),
        doc,
        GROUP,
        minimum=Decimal(minimum),
        maximum=MAXIMUM.get(unit),
    )
    for name, label, unit, default, doc, minimum in (
        (
            "casework.notice_days",
            "公示天数",
            "working days",
            "7",
            "The public notice (公示) runs this many working days; approval may follow once it "
            "has ended.",
            "1",
        ),
        (
            "casework.review_working_days",
            "乡镇审核时限",
            "working days",
            "15",
            "The township's review opinion is due this many working days after submission "
            "(Jiangsu: 15).",
            "1",
        ),
        (
            "casework.decision_working_days",
            "审批决定时限",
            "working days",
            "10",
            "The approval decision is due this many working days after the case reaches "
            "approval (Jiangsu: 10).",
            "1",
        ),
        (
            "casework.township_approves",
            "乡镇审批委托",
            "0 or 1",
            "0",
            "1 where the county has delegated approval to the townships.",
            "0",
        ),
        (
            "casework.review_months.stable",
            "复核周期(A类)",
            "months",
            "12",
            "Stable households are reviewed yearly.",
            "1",
        ),
        (
            "casework.review_months.able_to_work",
            "复核周期(B类)",
            "months",
            "6",
            "Households with members able to work are reviewed every 6 months.",
            "1",
        ),
        (
            "casework.review_months.other",
            "复核周期(C类)",
            "months",
            "12",
            "Other households: as the city sets.",
            "1",
        ),
        (
            "casework.pay_first_document_days",
            "先行救助补齐材料期限",
            "working days",
            "10",
            "A pay-first relief case's documents are due this many working days after payment.",
            "1",
        ),
    )
]


def params(*, region_code: str, on: datetime.date) -> Params:
    return resolve_parameters(region_code=region_code, month=on)


def parameter(*, region_code: str, component: str, on: datetime.date) -> Decimal:
    """The value of a casework component in force for the region on the day."""
    return params(region_code=region_code, on=on).value(component)

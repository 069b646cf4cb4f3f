"""Casework policy parameters: notice period, step deadlines, delegation, review intervals.

They are ``rules.Standard`` rows like every other policy value (effective dates, county over
city, resolved by ``rules.parameters.resolve_parameters``), under component names starting
with ``casework.``. A region with no row takes the national default in ``COMPONENTS``, so it
needs rows only for what it does differently. ``COMPONENTS`` are ``rules.parameters.Component``
entries, ready for ``register_component`` (which lets the standards API accept them) once the
docs test lists only the rules components. Relief limits and the gradual-exit period
are the engine's own components (``relief_*``, ``gradual_exit_months``).
"""

import datetime
from decimal import Decimal

from rules.engine import MissingParameter, Params
from rules.parameters import Component, resolve_parameters

GROUP = "个案办理 casework"

COMPONENTS = [
    Component(name, label, unit, Decimal(default), doc, GROUP)
    for name, label, unit, default, doc in (
        ("casework.notice_days", "公示天数", "days", "7", "Public notice, calendar days."),
        (
            "casework.review_working_days",
            "乡镇审核时限",
            "working days",
            "15",
            "The township's review opinion is due this many working days after submission "
            "(Jiangsu: 15).",
        ),
        (
            "casework.decision_working_days",
            "审批决定时限",
            "working days",
            "10",
            "The approval decision is due this many working days after the case reaches "
            "approval (Jiangsu: 10).",
        ),
        (
            "casework.township_approves",
            "乡镇审批委托",
            "0 or 1",
            "0",
            "1 where the county has delegated approval to the townships.",
        ),
        (
            "casework.review_months.stable",
            "复核周期(A类)",
            "months",
            "12",
            "Stable households are reviewed yearly.",
        ),
        (
            "casework.review_months.able_to_work",
            "复核周期(B类)",
            "months",
            "6",
            "Households with members able to work are reviewed every 6 months.",
        ),
        (
            "casework.review_months.other",
            "复核周期(C类)",
            "months",
            "12",
            "Other households: as the city sets.",
        ),
        (
            "casework.pay_first_document_days",
            "先行救助补齐材料期限",
            "days",
            "10",
            "A pay-first relief case's documents are due this many days after payment.",
        ),
    )
]


def params(*, region_code: str, on: datetime.date) -> Params:
    return resolve_parameters(region_code=region_code, month=on)


DEFAULTS = {component.name: component.default for component in COMPONENTS}


def parameter(*, region_code: str, component: str, on: datetime.date) -> Decimal:
    try:
        return params(region_code=region_code, on=on).value(component)
    except MissingParameter:
        return DEFAULTS[component]

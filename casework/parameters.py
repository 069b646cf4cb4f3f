"""Casework policy parameters: notice period, step deadlines, delegation, review intervals.

They are ``payments.Standard`` rows like every other policy value (effective dates, county over
city, resolved by ``payments.parameters.resolve_parameters``), under component names starting
with ``casework.``. A region with no row takes the national default below, so a city needs rows
only for what it does differently. Relief limits and the gradual-exit period are the engine's
components (``relief_*``, ``gradual_exit_months``), defaulted by its catalogue.
"""

import datetime
from decimal import Decimal

from payments.engine import MissingParameter, Params
from payments.parameters import resolve_parameters

DEFAULTS: dict[str, Decimal] = {
    "casework.notice_days": Decimal("7"),
    # Jiangsu: the township gives its review opinion within 15 working days, the decision
    # follows within 10.
    "casework.review_working_days": Decimal("15"),
    "casework.decision_working_days": Decimal("10"),
    # 1 where the county has delegated approval to the townships.
    "casework.township_approves": Decimal("0"),
    "casework.review_months.stable": Decimal("12"),
    "casework.review_months.able_to_work": Decimal("6"),
    "casework.review_months.other": Decimal("12"),
    "casework.pay_first_document_days": Decimal("10"),
}


def params(*, region_code: str, on: datetime.date) -> Params:
    return resolve_parameters(region_code=region_code, month=on)


def parameter(*, region_code: str, component: str, on: datetime.date) -> Decimal:
    try:
        return params(region_code=region_code, on=on).value(component)
    except MissingParameter:
        return DEFAULTS[component]

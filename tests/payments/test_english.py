"""The payments app speaks English under the language switch (payments/locale/en) and Chinese by
default: its refusals and the names of its lines and batches."""

from decimal import Decimal

import pytest
from django.utils import translation

from core.exceptions import DomainError
from payments.models import PaymentBatch, PaymentLine
from payments.recoveries import record_recovery


def refusal_of_a_zero_recovery(household, preparer) -> str:
    with pytest.raises(DomainError) as error:
        record_recovery(
            household=household,
            amount=Decimal("0"),
            reason="hidden_income",
            note="审计发现隐瞒收入",
            by=preparer,
        )
    assert error.value.field == "amount"
    return str(error.value.message)


def test_a_refused_recovery_is_explained_in_english_under_the_switch(household, preparer):
    with translation.override("en"):
        assert refusal_of_a_zero_recovery(household, preparer) == (
            "The amount to recover must be greater than 0"
        )
    with translation.override("zh-hans"):
        assert refusal_of_a_zero_recovery(household, preparer) == "追回金额必须大于0"


def test_lines_and_batches_are_named_in_the_users_language():
    with translation.override("en"):
        assert str(PaymentLine.Kind.PRICE_SUBSIDY.label) == "Temporary price subsidy"
        assert str(PaymentBatch.Status.COMPUTED.label) == "Computed"
    with translation.override("zh-hans"):
        assert str(PaymentLine.Kind.PRICE_SUBSIDY.label) == "价格临时补贴"
        assert str(PaymentBatch.Status.COMPUTED.label) == "已计算"

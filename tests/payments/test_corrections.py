import datetime
from decimal import Decimal

from django.utils import timezone

from payments.corrections import correction_lines
from payments.explanations import create_lines
from payments.models import PaymentBatch, PaymentLine, Recovery

AUG = datetime.date(2024, 8, 1)
SEP = datetime.date(2024, 9, 1)
OCT = datetime.date(2024, 10, 1)


def _save(lines):
    return create_lines(lines)


def test_a_failed_transfer_is_not_reissued_before_the_account_is_fixed(
    make_batch, add_line, household
):
    august = make_batch(AUG, status=PaymentBatch.Status.RECONCILED)
    add_line(august, household, "1725", status="failed", failure_reason="账户已销户")
    september = make_batch(SEP)

    assert correction_lines(batch=september) == []


def test_a_failed_transfer_is_reissued_once_to_the_fixed_account(make_batch, add_line, household):
    august = make_batch(AUG, status=PaymentBatch.Status.RECONCILED)
    add_line(august, household, "1725", status="failed", failure_reason="账户已销户")
    household.bank_account_number = "6222020000000000014"
    household.save()
    september = make_batch(SEP)

    (reissue,) = _save(correction_lines(batch=september))
    october = make_batch(OCT)

    assert reissue.kind == PaymentLine.Kind.REISSUE
    assert reissue.amount == Decimal("1725")
    assert reissue.bank_account_number == "6222020000000000014"
    assert correction_lines(batch=october) == []


def test_a_recovery_is_offset_without_taking_the_month_below_zero(
    make_batch, add_line, household, approver
):
    # Recorded by hand and signed by a second finance user (approved): offset from then on.
    recovery = Recovery.objects.create(
        household=household,
        region_code=household.region_code,
        reason="death",
        amount=Decimal("1000"),
        approved_by=approver,
        approved_at=timezone.now(),
    )
    september = make_batch(SEP)
    add_line(september, household, "600")

    (offset,) = _save(correction_lines(batch=september))
    october = make_batch(OCT)
    add_line(october, household, "600")
    (rest,) = _save(correction_lines(batch=october))

    assert offset.amount == Decimal("-600")
    assert offset.source_ref == recovery.source_ref
    assert rest.amount == Decimal("-400")
    november = make_batch(datetime.date(2024, 11, 1))
    add_line(november, household, "600")
    assert correction_lines(batch=november) == []

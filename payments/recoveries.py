"""Recoveries (追回): overpayments recorded against a household, offset or repaid.

DOMAIN.md, payment practice: an overpayment found later (death, hidden income) is recovered, by
offset or repayment, and recorded. Overpayments found by recomputing past months are recorded by
``payments.corrections``; this module records one found otherwise (a finance user enters it) and
the household's repayment. Offsets are the recovery lines of later batches.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Household, User
from casework.services.changes import require_second_signature
from core.exceptions import Conflict, DomainError
from payments.models import PaymentLine, Recovery
from payments.money import MONEY_FIELD, MoneySum


@dataclass(frozen=True, slots=True)
class Balance:
    amount: Decimal
    offset: Decimal
    repaid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.offset - self.repaid


def with_balance(recoveries: QuerySet[Recovery]) -> QuerySet[Recovery]:
    """Annotate ``offset`` (what later batches offset so far) and ``outstanding``, in one query."""
    offsets = (
        PaymentLine.objects.filter(
            kind=PaymentLine.Kind.RECOVERY,
            source_ref=Concat(Value("recovery:"), Cast(OuterRef("pk"), CharField())),
        )
        .values("source_ref")
        .annotate(total=MoneySum("amount"))
        .values("total")
    )
    return recoveries.annotate(
        offset=-Coalesce(Subquery(offsets), Value(Decimal("0")), output_field=MONEY_FIELD)
    ).annotate(outstanding=F("amount") - F("offset") - F("repaid_amount"))


def balance(*, recovery: Recovery) -> Balance:
    """What was owed, what later batches offset so far, what was repaid."""
    row = with_balance(Recovery.objects.filter(pk=recovery.pk)).get()
    return Balance(amount=row.amount, offset=row.offset, repaid=row.repaid_amount)


def record_recovery(
    *,
    household: Household,
    amount: Decimal,
    reason: str,
    note: str,
    by: User,
    month: datetime.date | None = None,
) -> Recovery:
    """Record an overpayment found outside the batch (e.g. hidden income from an audit).

    Once another finance user approves it (``approve_recovery``), the next batches offset it
    against the household's payments, or it is marked repaid.
    """
    if amount <= 0:
        raise DomainError(_("追回金额必须大于0"), field="amount")
    if reason not in Recovery.Reason.values:
        raise DomainError(_("未知的追回原因"), field="reason")
    if not note.strip():
        raise DomainError(_("须写明多发的依据"), field="note")
    return Recovery.objects.create(
        household=household,
        region_code=household.region_code,
        month=month,
        reason=reason,
        amount=amount,
        note=note,
        created_by=by,
    )


@transaction.atomic
def approve_recovery(*, recovery: Recovery, by: User) -> Recovery:
    """A second finance user of the region approves a recovery recorded by hand; only then do
    batches offset it (STYLE.md rule 27; a CHECK constraint refuses the recorder too)."""
    require_second_signature(
        proposer_ids={recovery.created_by_id},
        by=by,
        region_code=recovery.region_code,
        roles={User.Role.FINANCE},
    )
    approved = Recovery.objects.filter(
        pk=recovery.pk, approved_at__isnull=True, detected_in_batch__isnull=True
    ).update(approved_by=by, approved_at=timezone.now())
    if not approved:
        raise Conflict(_("该追回款无需审批或已审批"), code="recovery_approved")
    recovery.refresh_from_db()
    return recovery


@transaction.atomic
def mark_repaid(*, recovery: Recovery, by: User) -> Recovery:
    """The household repaid what is still owed: recorded, and no later batch offsets it."""
    recovery = Recovery.objects.select_for_update().get(pk=recovery.pk)
    if recovery.repaid_at is not None:
        raise Conflict(_("该追回款已登记退回"), code="already_repaid")
    outstanding = balance(recovery=recovery).outstanding
    if outstanding <= 0:
        raise Conflict(_("该追回款已全部抵扣，无需退回"), code="nothing_outstanding")
    recovery.repaid_amount = outstanding
    recovery.repaid_at = timezone.now()
    recovery.repaid_by = by
    recovery.save(update_fields=["repaid_amount", "repaid_at", "repaid_by"])
    return recovery

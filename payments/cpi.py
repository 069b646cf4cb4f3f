"""A recorded CPI figure corrected (rules.services.correct_price_index), and what follows for
payments: the month's batches not yet approved are computed again with the right figure;
approved months are back-paid or recovered by the next batch (payments.corrections), as for a
standard entered late."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core.exceptions import Conflict
from payments import batches
from payments.models import PaymentBatch
from rules import services as rules_services
from rules.models import PriceIndex, PriceIndexCorrection

Status = PaymentBatch.Status
RECOMPUTED = (Status.COMPUTED, Status.FAILED)


def correct_price_index(
    *, price_index: PriceIndex, cpi_rise_percent: Decimal, reason: str, by: User
) -> PriceIndexCorrection:
    """Correct the figure (who, why and when are recorded), then recompute each of the city's
    batches of that month that is computed or failed (a draft computes with the right figure
    anyway). Refused while one of them is computing: its chunks would mix both figures."""
    month_batches = PaymentBatch.objects.filter(
        region__code__startswith=price_index.region.prefix, month=price_index.month
    )
    if month_batches.filter(status=Status.COMPUTING).exists():
        raise Conflict(
            _("本月有发放批次正在计算，请待计算完成后再更正价格指数。"), code="batch_computing"
        )
    correction = rules_services.correct_price_index(
        price_index=price_index, cpi_rise_percent=cpi_rise_percent, reason=reason, by=by
    )
    for batch in month_batches.filter(status__in=RECOMPUTED).select_related("region"):
        batches.recompute_batch(batch=batch, by=by)
    return correction

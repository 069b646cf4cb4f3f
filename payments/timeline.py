"""Payment lines on a household's timeline (casework.selectors.household_timeline)."""

from collections.abc import Iterator

from beneficiaries.models import Household
from casework.selectors import TimelineEntry
from payments.models import PaymentLine


def payment_line_entries(household: Household) -> Iterator[TimelineEntry]:
    """Every line paid (or to be paid) to the household, when its batch was created."""
    lines = PaymentLine.objects.filter(household=household).select_related("batch")
    for line in lines:
        yield TimelineEntry(
            line.batch.created_at,
            "payment_line",
            f"{line.month:%Y-%m} {line.get_kind_display()} {line.amount} "
            f"({line.get_status_display()})",
            "",
            {"batch": line.batch_id, "line": line.pk},
        )

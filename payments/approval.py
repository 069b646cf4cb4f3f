"""Maker-checker approval of a computed batch, and the batch's moves after approval.

The approver must be a different user from the preparer, enforced
on the server (this service, and a CHECK constraint on PaymentBatch underneath it). An approved
batch is frozen: nothing recomputes it, and its lines keep the accounts they were computed with.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core.exceptions import Conflict, DomainError
from core.months import local_time_text
from payments.models import PaymentBatch

Status = PaymentBatch.Status

# The moves after computation, and the role allowed to make each (one table, one mover).
BANK_MOVES: dict[tuple[str, str], frozenset[str]] = {
    (Status.COMPUTED, Status.APPROVED): frozenset({User.Role.FINANCE, User.Role.ADMIN}),
    (Status.APPROVED, Status.EXPORTED): frozenset({User.Role.FINANCE, User.Role.ADMIN}),
    (Status.EXPORTED, Status.RECONCILED): frozenset({User.Role.FINANCE, User.Role.ADMIN}),
    (Status.RECONCILED, Status.CLOSED): frozenset({User.Role.FINANCE, User.Role.ADMIN}),
}


def move_batch(*, batch: PaymentBatch, to: str, by: User, **fields) -> PaymentBatch:
    """Move ``batch`` to ``to`` if the table allows it from its current status and for ``by``.

    The move is a conditional update on the status the caller saw, so of two concurrent movers
    exactly one wins; the other gets a 409 naming the status the batch is now in. pghistory
    records each move.
    """
    allowed = BANK_MOVES.get((batch.status, to))
    if allowed is None:
        raise Conflict(
            _("批次当前状态为“%(status)s”，不能改为“%(to)s”")
            % {"status": Status(batch.status).label, "to": Status(to).label},
            code="illegal_batch_move",
        )
    if by.role not in allowed and not by.is_superuser:
        raise DomainError(_("只有财务人员可以执行此操作"), code="role_not_allowed")
    moved = PaymentBatch.objects.filter(pk=batch.pk, status=batch.status).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if moved != 1:
        batch.refresh_from_db()
        raise Conflict(
            _("批次已被他人处理，当前状态为“%(status)s”") % {"status": Status(batch.status).label},
            code="batch_moved_concurrently",
        )
    batch.refresh_from_db()
    return batch


@transaction.atomic
def approve_batch(*, batch: PaymentBatch, by: User) -> PaymentBatch:
    """Approve a computed batch as the checker: never the user who prepared it.

    Approving twice is refused (409) and an approved batch is frozen from then on. A batch
    prepared by the system (beat, run_payroll: no preparer) is approved by any finance user.
    """
    if batch.status == Status.APPROVED or batch.approved_by_id is not None:
        raise Conflict(
            _("该批次已于%(when)s由%(who)s审批，不能重复审批")
            % {"when": local_time_text(batch.approved_at), "who": batch.approved_by},
            code="already_approved",
        )
    # A batch the scheduler or run_payroll prepared has no human maker; the checker is recorded.
    if batch.prepared_by_id == by.pk:
        raise DomainError(
            _("审批人不能是制单人(%(user)s)：须由另一名财务人员审批") % {"user": by},
            code="approver_is_preparer",
        )
    return move_batch(
        batch=batch, to=Status.APPROVED, by=by, approved_by=by, approved_at=timezone.now()
    )


def close_batch(*, batch: PaymentBatch, by: User) -> PaymentBatch:
    """Close a reconciled batch: its failed transfers are then left to re-issue lines."""
    return move_batch(batch=batch, to=Status.CLOSED, by=by)

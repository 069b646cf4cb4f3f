"""Maker-checker approval of a computed batch, and the batch's moves after approval.

Two people for every batch (STYLE.md rule 27): the preparer of record is the finance user who
created, recomputed or submitted the batch (a batch drafted by beat or ``run_payroll`` has none
until a finance user submits it); the approver is a different finance user whose region holds
the batch's, and no other role approves. This service checks it; underneath, a CHECK constraint
and a trigger on PaymentBatch refuse any approval that breaks it. An approved batch is frozen:
nothing recomputes it, and its lines keep the accounts they were computed with.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import User
from core.exceptions import Conflict, DomainError
from core.months import local_time_text
from core.scope import covers
from payments.models import PaymentBatch

Status = PaymentBatch.Status

# The moves after computation, and the role allowed to make each (one table, one mover).
BANK_MOVES: dict[tuple[str, str], frozenset[str]] = {
    (Status.COMPUTED, Status.APPROVED): frozenset({User.Role.FINANCE}),
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


def _require_finance(*, user: User, batch: PaymentBatch, message) -> None:
    if user.role != User.Role.FINANCE:
        raise DomainError(message, code="role_not_allowed")
    if not covers(user, batch.region.code):
        raise Conflict(_("该批次不在您的管辖范围内"), code="scope")


@transaction.atomic
def submit_batch(*, batch: PaymentBatch, by: User) -> PaymentBatch:
    """A finance user submits a computed batch for approval and becomes its preparer of record:
    a batch drafted by beat or ``run_payroll`` has no preparer until then, and nobody may approve
    it before. A batch another finance user prepared is theirs (409)."""
    _require_finance(user=by, batch=batch, message=_("只有财务人员可以提交发放批次"))
    PaymentBatch.objects.select_for_update().filter(pk=batch.pk).values_list("pk").get()
    batch.refresh_from_db()
    if batch.status != Status.COMPUTED:
        raise Conflict(
            _("批次当前状态为“%(status)s”，只有已计算的批次可以提交审批")
            % {"status": Status(batch.status).label},
            code="illegal_batch_move",
        )
    if batch.prepared_by_id not in (None, by.pk):
        raise Conflict(
            _("该批次已由%(user)s制单，须由另一名财务人员审批") % {"user": batch.prepared_by},
            code="already_prepared",
        )
    batch.prepared_by = by
    batch.save(update_fields=["prepared_by", "updated_at"])
    return batch


@transaction.atomic
def approve_batch(*, batch: PaymentBatch, by: User) -> PaymentBatch:
    """Approve a computed batch as the checker: a finance user of the batch's region who is not
    its preparer of record; a batch with no preparer (drafted by the system) must be submitted
    by a finance user first. Approving twice is refused (409) and an approved batch is frozen
    from then on."""
    PaymentBatch.objects.select_for_update().filter(pk=batch.pk).values_list("pk").get()
    batch.refresh_from_db()
    if batch.status == Status.APPROVED or batch.approved_by_id is not None:
        raise Conflict(
            _("该批次已于%(when)s由%(who)s审批，不能重复审批")
            % {"when": local_time_text(batch.approved_at), "who": batch.approved_by},
            code="already_approved",
        )
    _require_finance(user=by, batch=batch, message=_("只有财务人员可以审批发放批次"))
    if batch.prepared_by_id is None:
        raise Conflict(
            _("该批次由系统生成，须先由一名财务人员提交，再由另一名财务人员审批"),
            code="not_submitted",
        )
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

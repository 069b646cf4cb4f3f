"""A batch's lines: from the facts of the enrolments in force (the pure engine, once per distinct
facts) and from the relief instalments due.

Nothing here decides an amount: the engine does (rules.engine). Nothing here writes: the batch
(payments.batches) stores the explanations and the lines in its chunk's transactions.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from casework.facts import status_in_month
from casework.models import Enrolment, ReliefInstalment
from casework.selectors import relief_instalments_due
from core.months import format_month
from payments import explanations, payroll_io
from payments.explanations import ChunkExplanations, Memo
from payments.models import PaymentBatch, PaymentLine
from rules.engine import (
    EnrolmentFacts,
    HouseholdFacts,
    Params,
    Result,
    compute_amount,
    facts_key,
    price_subsidy,
)
from rules.parameters import resolve_parameters

ACTIVE = Enrolment.Status.ACTIVE
Kind = PaymentLine.Kind

# Per worker process, bounded: (parameters in force, CPI) → facts key (engine.facts_key) → what
# the engine made of those facts (LineBuilder._made). Most enrolments share their facts with
# others: those are neither computed nor explained again. RESULTS_LIMIT keys in all, some 900
# bytes each (~90 MB); a Zhenjiang worker holds ~80,000 after half of a million-household batch.
_RESULTS: dict[tuple, Memo] = {}
RESULTS_LIMIT = 100_000


def _results_for(params: Params, cpi: Decimal | None) -> Memo:
    """The results memo of one set of parameters and CPI figure (a new standard gets its own).

    The sets held together stay within RESULTS_LIMIT keys, give or take one chunk's: past it, the
    sets least recently used go first, then the set in use forgets everything (see Memo)."""
    namespace = (params.fingerprint, cpi)
    results = _RESULTS.pop(namespace, None)
    if results is None:
        results = Memo(RESULTS_LIMIT)
    _RESULTS[namespace] = results  # the most recently used last
    while len(_RESULTS) > 1 and sum(map(len, _RESULTS.values())) > RESULTS_LIMIT:
        _RESULTS.pop(next(iter(_RESULTS)), None)  # None: another thread (inline mode) took it
    return results


def enrolment_facts(row: payroll_io.EnrolmentRow, month: datetime.date) -> EnrolmentFacts:
    """As casework.facts.facts_for_enrolment (the in-force selection has already checked the
    enrolment's months)."""
    status = row.status
    if status != ACTIVE:
        status = status_in_month(
            status=status,
            gradual_exit_from=row.gradual_exit_from,
            gradual_exit_until=row.gradual_exit_until,
            month=month,
        )
    # tuple.__new__: the named tuple's constructor without its Python frame (a million a batch).
    return _new_tuple(
        EnrolmentFacts,
        (
            row.id,
            row.category,
            row.member_id,
            row.care_level,
            status,
            row.gradual_exit_amount,
            row.gradual_exit_from,
            row.gradual_exit_until,
        ),
    )


_new_tuple = tuple.__new__


def recompute(recipe: tuple) -> Result:
    """The engine's result for a line's recipe (LineBuilder: its facts, parameters, kind, CPI)."""
    enrolment, household, params, kind, cpi = recipe
    if kind == Kind.REGULAR:
        return compute_amount(enrolment, household, params)
    return price_subsidy(enrolment, household, params, cpi)


class LineBuilder:
    """Turns a chunk's facts into line rows (payroll_io.LINE_COLUMNS order), calling the engine.

    Most enrolments share their facts with others (engine.facts_key): the engine runs once per
    distinct facts, remembered per worker (bounded), and each line made from remembered facts
    takes the amounts and digests computed then, and keeps its own facts as the recipe of its
    explanation. A line carries its explanation's digest; ``explanations`` maps each digest the
    lines use to its text (payments.explanations.ChunkExplanations).
    """

    def __init__(self, *, batch: PaymentBatch, cpi_rise_percent: Decimal | None):
        self.batch = batch
        self.month = batch.month
        self.month_text = batch.month.isoformat()
        self.cpi = cpi_rise_percent
        self._params: dict[str, Params] = {}
        self.explanations = ChunkExplanations(recompute)
        self.total = Decimal("0")  # of the lines made so far

    def lines(
        self, rows: list[payroll_io.EnrolmentRow], households: dict[int, HouseholdFacts]
    ) -> list[tuple]:
        # The loop runs a million times per batch: lookups are hoisted into locals.
        out = []
        append = out.append
        add_explanation = self.explanations.add
        noted = self.explanations.noted
        batch_id, month, month_text, cpi = self.batch.pk, self.month, self.month_text, self.cpi
        by_code: dict[str, tuple[Params, Memo]] = {}
        pending = PaymentLine.Status.PENDING
        total = self.total
        for row in rows:
            # One unpacking rather than a dozen attribute reads of the named tuple.
            (
                enrolment_id, household_id, _member, category, _care, _status,
                _exit_amount, _exit_from, _exit_until, region_code, bank_name, holder, account,
            ) = row  # fmt: skip
            enrolment = enrolment_facts(row, month)
            household = households.get(household_id) or HouseholdFacts(household_id, ())
            found = by_code.get(region_code)
            if found is None:
                params = self._params_for(region_code)
                found = by_code[region_code] = (params, _results_for(params, cpi))
            params, results = found
            key = facts_key(enrolment, household, params)
            made = results.get(key)
            if made is None:
                made = results.remember(key, self._made(enrolment, household, params))
            for kind, amount, amount_text, digest in made:
                total += amount
                if digest not in noted:
                    add_explanation(digest, (enrolment, household, params, kind, cpi))
                append(
                    (
                        batch_id,
                        month_text,
                        kind,
                        enrolment_id,
                        household_id,
                        region_code,
                        category,
                        "",
                        amount_text,
                        digest,
                        bank_name,
                        holder,
                        account,
                        pending,
                        "",
                    )
                )
        self.total = total
        return out

    def _made(
        self, enrolment: EnrolmentFacts, household: HouseholdFacts, params: Params
    ) -> tuple[tuple, ...]:
        """What the engine makes of these facts, as lines need it: (kind, amount, amount as
        text, explanation digest) of the monthly amount and, when the month's CPI triggers it,
        of the price subsidy."""
        made = []
        kind, result = Kind.REGULAR, compute_amount(enrolment, household, params)
        while result is not None:
            digest = self.explanations.digest(result)
            made.append((kind, result.amount, str(result.amount), digest))
            if kind is Kind.PRICE_SUBSIDY or self.cpi is None:
                break
            kind, result = Kind.PRICE_SUBSIDY, price_subsidy(enrolment, household, params, self.cpi)
        return tuple(made)

    def _params_for(self, region_code: str) -> Params:
        county = region_code[:6]
        params = self._params.get(county)
        if params is None:
            params = self._params[county] = resolve_parameters(
                region_code=region_code, month=self.month
            )
        return params


def relief_lines(*, batch: PaymentBatch) -> list[PaymentLine]:
    """Lines for the relief instalments due in the batch's month (一次审批、分阶段救助), each
    claimed for this batch in the same transaction so it is paid in exactly one batch. A
    recomputed batch pays again the instalments it had claimed. Each line says which instalment
    of how many it is, of what amount approved."""
    due = relief_instalments_due(region_prefix=batch.region.prefix, month=batch.month)
    again = ReliefInstalment.objects.filter(paid_batch=batch)
    instalments = list((due | again).select_related("household", "relief").order_by("id"))
    mark_relief_instalments_paid(instalment_ids=[i.pk for i in instalments], batch_id=batch.pk)
    plans: dict[int, list[int]] = {}
    for relief_id, instalment_id in (
        ReliefInstalment.objects.filter(relief_id__in={i.relief_id for i in instalments})
        .order_by("due_month", "id")
        .values_list("relief_id", "id")
    ):
        plans.setdefault(relief_id, []).append(instalment_id)
    lines = []
    for instalment in instalments:
        household, plan = instalment.household, plans[instalment.relief_id]
        values = (
            instalment.relief.proposed_amount,
            plan.index(instalment.pk) + 1,
            len(plan),
            format_month(instalment.due_month),
        )
        step = ("relief_instalment", values, instalment.amount)
        lines.append(
            PaymentLine(
                batch=batch,
                month=batch.month,
                kind=Kind.RELIEF_INSTALMENT,
                household=household,
                region_code=instalment.region_code,
                category="",
                source_ref=f"relief-instalment:{instalment.pk}",
                amount=instalment.amount,
                explanation_ref=explanations.make([step]),
                bank_name=household.bank_name,
                bank_account_holder=household.bank_account_holder,
                bank_account_number=household.bank_account_number,
            )
        )
    return lines


def mark_relief_instalments_paid(*, instalment_ids: list[int], batch_id: int) -> int:
    """Claim relief instalments for a batch, in the transaction that writes the batch's
    relief_instalment lines, so an instalment is taken into exactly one batch. Returns how many
    were claimed; an instalment already claimed by another batch is left alone (conditional
    update)."""
    return ReliefInstalment.objects.filter(pk__in=instalment_ids, paid_batch__isnull=True).update(
        paid_batch_id=batch_id, paid_at=timezone.now()
    )

"""The monthly batch: one per region and month, one line per enrolment, chunks that never count
twice, recompute replaces, approval freezes."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from beneficiaries.facts import refresh_household_facts
from beneficiaries.models import Household, IncomeItem, Member
from beneficiaries.services import move_member
from casework.facts import explain_enrolment, facts_for_enrolment
from casework.models import Enrolment, ReliefCase, ReliefInstalment
from casework.selectors import enrolments_in_force
from core.db import without_triggers
from core.exceptions import Conflict
from payments import batches, payroll_io
from payments import lines as batch_lines
from payments.explanations import canonical_json, digest_of
from payments.models import BatchChunk, PaymentBatch, PaymentExplanation, PaymentLine
from rules.engine import HouseholdFacts, MemberFacts
from rules.models import Standard
from rules.parameters import load_standards
from tests.db import as_owner
from tests.factories import EnrolmentFactory, IncomeItemFactory
from tests.payments.conftest import AUGUST, make_household

JULY = datetime.date(2024, 7, 1)
# Zhenjiang 2024-08 (standard 875; one-person households get the living-alone supplement).
EXPECTED = {0: "1725.00", 1: "963.00", 2: "250.00", 3: "1750.00", 4: "88.00", 5: "2900.00"}
TOTAL = Decimal("10301")


def planned_batch(regions, captured) -> PaymentBatch:
    """August's batch of 京口区 planned in chunks, their tasks queued but not run."""
    with captured(execute=False):
        batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
        batches.compute_batch(batch=batch)
    return batch


def computed_batch(regions, captured, *, region="jingkou", month=AUGUST) -> PaymentBatch:
    with captured(execute=True):
        batch = batches.create_batch(region=regions[region], month=month, by=None)
        batches.compute_batch(batch=batch)
    batch.refresh_from_db()
    return batch


def line_snapshot(batch) -> list[tuple]:
    return list(
        PaymentLine.objects.filter(batch=batch)
        .order_by("enrolment_id", "kind")
        .values_list("enrolment_id", "kind", "amount", "explanation_ref__text")
    )


def test_second_batch_for_same_region_and_month_is_refused(regions):
    first = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    with pytest.raises(Conflict):
        batches.create_batch(region=regions["jingkou"], month=datetime.date(2024, 8, 20), by=None)
    assert list(PaymentBatch.objects.values_list("pk", flat=True)) == [first.pk]


def test_database_refuses_a_second_batch_for_same_region_and_month(regions):
    PaymentBatch.objects.create(region=regions["jingkou"], month=AUGUST)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentBatch.objects.create(region=regions["jingkou"], month=AUGUST)
    assert PaymentBatch.objects.count() == 1


def test_batch_has_one_line_per_enrolment_in_force(
    regions, caseload, django_capture_on_commit_callbacks
):
    stopped = make_household(regions["village_a1"], [Decimal("0")], status="stopped")
    not_yet = make_household(
        regions["village_a1"], [Decimal("0")], start_month=datetime.date(2024, 9, 1)
    )
    elsewhere = make_household(regions["village_c1"], [Decimal("0")])

    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    lines = PaymentLine.objects.filter(batch=batch)
    assert batch.status == PaymentBatch.Status.COMPUTED
    assert sorted(lines.values_list("enrolment_id", flat=True)) == [e.pk for e in caseload]
    assert not lines.filter(enrolment__in=[stopped, not_yet, elsewhere]).exists()
    assert (batch.chunks_total, batch.chunks_done) == (3, 3)
    assert batch.line_count == 7
    assert batch.total_amount == sum(line.amount for line in lines)


def larger_caseload(regions, caseload) -> list[int]:
    """The seven households and sixteen more: the ids of the 23 enrolments in force."""
    villages = [regions["village_a1"], regions["village_a2"], regions["village_b1"]]
    more = [make_household(villages[n % 3], [Decimal(n * 50)]) for n in range(16)]
    return sorted(e.pk for e in [*caseload, *more])


def chunk_sizes(bounds, ids) -> list[int]:
    return [sum(first <= i <= last for i in ids) for first, last in bounds]


def test_a_batchs_last_chunk_is_split_so_the_workers_finish_together(
    regions, caseload, monkeypatch
):
    ids = larger_caseload(regions, caseload)
    enrolments = enrolments_in_force(region_prefix="321102", month=AUGUST)
    monkeypatch.setattr(payroll_io, "MIN_TAIL_PART", 1)

    bounds = payroll_io.chunk_bounds(enrolments=enrolments, size=8)

    # 23 in steps of 2 (8 / TAIL_PARTS): the last four steps are chunks of their own, the
    # steps before them grouped four by four.
    assert chunk_sizes(bounds, ids) == [8, 8, 2, 2, 2, 1]
    assert bounds[0][0] == ids[0] and bounds[-1][1] == ids[-1]
    assert all(b[0] == a[1] + 1 for a, b in zip(bounds, bounds[1:], strict=False))
    # One chunk's worth stays one chunk; a size below 4 x MIN_TAIL_PART is not split.
    assert chunk_sizes(payroll_io.chunk_bounds(enrolments=enrolments, size=40), ids) == [23]
    assert chunk_sizes(payroll_io.chunk_bounds(enrolments=enrolments, size=23), ids) == [23]
    assert chunk_sizes(payroll_io.chunk_bounds(enrolments=enrolments, size=22), ids) == [
        5,
        5,
        5,
        5,
        3,
    ]
    monkeypatch.setattr(payroll_io, "MIN_TAIL_PART", 3)
    assert chunk_sizes(payroll_io.chunk_bounds(enrolments=enrolments, size=8), ids) == [8, 8, 7]


def test_a_batch_split_finer_at_its_end_pays_the_same(
    regions, caseload, settings, monkeypatch, django_capture_on_commit_callbacks
):
    larger_caseload(regions, caseload)
    whole = computed_batch(regions, django_capture_on_commit_callbacks)
    expected = line_snapshot(whole)
    whole.delete()
    monkeypatch.setattr(payroll_io, "MIN_TAIL_PART", 1)
    settings.PAYROLL_CHUNK_SIZE = 8

    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    assert (batch.status, batch.chunks_total, batch.chunks_done) == ("computed", 6, 6)
    assert line_snapshot(batch) == expected
    assert batch.line_count == 23


def explanation_lookups(captured) -> list[str]:
    return [q["sql"] for q in captured if "payments_paymentexplanation" in q["sql"]]


def test_a_worker_asks_only_about_explanations_it_has_not_seen_stored(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    expected = line_snapshot(batch)

    with CaptureQueriesContext(connection) as captured:
        with django_capture_on_commit_callbacks(execute=True):
            batches.recompute_batch(batch=batch, by=None)

    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.COMPUTED
    assert line_snapshot(batch) == expected
    assert explanation_lookups(captured) == []


@pytest.mark.postgres
def test_explanations_lost_behind_the_workers_back_are_stored_again_on_resume(
    regions, caseload, django_capture_on_commit_callbacks
):
    """A database restored or emptied while a worker remembers what it saw stored: the chunk
    fails on the lines' reference check, the worker forgets, and the resume stores them."""
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    expected = line_snapshot(batch)
    with as_owner(), without_triggers(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM payments_paymentexplanation")

    with django_capture_on_commit_callbacks(execute=True):
        batches.recompute_batch(batch=batch, by=None)
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.FAILED
    assert "missing explanation" in batch.error

    with django_capture_on_commit_callbacks(execute=True):
        batches.resume_batch(batch=batch)
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.COMPUTED
    assert line_snapshot(batch) == expected


def test_household_of_three_with_900_income_gets_1725(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    line = PaymentLine.objects.get(batch=batch, enrolment=caseload[0])
    assert line.amount == Decimal("1725")
    assert line.kind == PaymentLine.Kind.REGULAR
    assert line.explanation and line.explanation[-1]["result"] == "1725"
    assert line.bank_account_number == caseload[0].household.bank_account_number
    assert line.region_code == caseload[0].household.region_code


def test_lines_carry_each_households_own_amount(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    amounts = dict(PaymentLine.objects.filter(batch=batch).values_list("enrolment_id", "amount"))
    assert {n: str(amounts[caseload[n].pk]) for n in EXPECTED} == EXPECTED


def test_lines_explained_alike_share_one_stored_explanation_keyed_by_its_digest(
    regions, caseload, django_capture_on_commit_callbacks
):
    # Two more households with exactly the facts of caseload[0] (all members adults): the
    # same steps.
    incomes = [Decimal("900"), Decimal("0"), Decimal("0")]
    twins = [make_household(regions["village_b1"], incomes).household for _ in range(2)]
    Member.objects.update(birth_date=datetime.date(1980, 1, 1))
    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    lines = list(PaymentLine.objects.filter(batch=batch).select_related("explanation_ref"))
    first = next(line for line in lines if line.enrolment_id == caseload[0].pk)
    alike = [line for line in lines if line.household_id in {h.pk for h in twins}]
    assert {line.explanation_ref_id for line in alike} == {first.explanation_ref_id}
    assert PaymentExplanation.objects.count() == len(
        {canonical_json([ln.explanation, ln.parameter_versions]) for ln in lines}
    )
    for line in lines:
        explained = {"steps": line.explanation, "versions": line.parameter_versions}
        assert line.explanation_ref_id == digest_of(canonical_json(explained))


@pytest.mark.postgres
def test_the_database_refuses_to_change_a_stored_explanation(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    line = PaymentLine.objects.filter(batch=batch).first()
    steps = line.explanation

    # The table's trigger refuses even its owner (the app role has no UPDATE on it at all).
    with as_owner(), pytest.raises(Exception, match="Cannot update"), transaction.atomic():
        PaymentExplanation.objects.filter(pk=line.explanation_ref_id).update(text="{}")

    assert PaymentLine.objects.get(pk=line.pk).explanation == steps


def test_each_line_is_what_the_engine_explains_for_its_enrolment(
    regions, caseload, django_capture_on_commit_callbacks
):
    # A minor and an elder: supplements whose steps name the member.
    Member.objects.filter(pk=caseload[2].household.members.last().pk).update(
        birth_date=datetime.date(2012, 3, 1)
    )
    Member.objects.filter(pk=caseload[5].household.members.first().pk).update(
        birth_date=datetime.date(1950, 3, 1)
    )
    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    for line in PaymentLine.objects.filter(batch=batch).select_related("enrolment"):
        result = explain_enrolment(enrolment=line.enrolment, month=AUGUST)
        assert line.amount == result.amount
        assert line.explanation == result.explanation()
        assert line.parameter_versions == result.versions


def test_database_refuses_a_second_line_for_same_enrolment_kind_and_month(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    line = PaymentLine.objects.filter(batch=batch).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(
            batch=batch,
            month=line.month,
            kind=line.kind,
            enrolment=line.enrolment,
            household=line.household,
            region_code=line.region_code,
            amount=Decimal("1"),
            explanation_ref_id=line.explanation_ref_id,
        )
    assert PaymentLine.objects.filter(batch=batch).count() == 7


def test_a_chunk_run_twice_gives_the_same_lines_and_totals(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    before = line_snapshot(batch)

    with django_capture_on_commit_callbacks(execute=True):
        for chunk in batch.chunks.all():
            assert batches.compute_chunk(chunk_id=chunk.pk) is False
        assert batches.finalize_batch(batch_id=batch.pk) is False

    assert line_snapshot(batch) == before
    batch.refresh_from_db()
    assert (batch.chunks_done, batch.line_count, batch.total_amount) == (3, 7, TOTAL)


def test_a_chunk_that_died_while_writing_leaves_no_line_and_counts_once_when_redelivered(
    regions, caseload, django_capture_on_commit_callbacks, monkeypatch
):
    batch = planned_batch(regions, django_capture_on_commit_callbacks)
    chunk = batch.chunks.get(number=1)
    insert_lines = payroll_io.insert_lines

    def insert_then_lose_the_connection(rows):
        insert_lines(rows)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(payroll_io, "insert_lines", insert_then_lose_the_connection)
    with pytest.raises(OperationalError):
        batches.compute_chunk(chunk_id=chunk.pk)
    assert not PaymentLine.objects.exists()
    # Its explanations were stored before its lines: content-addressed, they serve the retry.
    stored = set(PaymentExplanation.objects.values_list("digest", flat=True))
    assert stored
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == ("running", 1)

    monkeypatch.setattr(payroll_io, "insert_lines", insert_lines)
    with django_capture_on_commit_callbacks(execute=True):
        assert batches.compute_chunk(chunk_id=chunk.pk) is True
        assert batches.compute_chunk(chunk_id=chunk.pk) is False

    chunk.refresh_from_db()
    batch.refresh_from_db()
    assert PaymentLine.objects.filter(batch=batch).count() == 3
    assert set(PaymentLine.objects.values_list("explanation_ref", flat=True)) == stored
    assert set(PaymentExplanation.objects.values_list("digest", flat=True)) == stored
    assert (chunk.status, chunk.attempts, chunk.line_count) == ("done", 2, 3)
    assert batch.chunks_done == 1


def test_an_attempt_that_finds_its_chunk_done_when_it_comes_to_write_writes_nothing(
    regions, caseload, django_capture_on_commit_callbacks, monkeypatch
):
    # A duplicated task: both attempts compute; the one that locks the chunk second finds it
    # done by the other and leaves its lines unwritten.
    batch = planned_batch(regions, django_capture_on_commit_callbacks)
    chunk = batch.chunks.get(number=1)
    compute_lines = batches._compute_lines
    other_attempt = []

    def compute_while_another_attempt_finishes(**kwargs):
        computed = compute_lines(**kwargs)
        if not other_attempt:  # the first attempt only: the other runs unhindered
            other_attempt.append("running")
            other_attempt[0] = batches.compute_chunk(chunk_id=chunk.pk, worker="other")
        return computed

    monkeypatch.setattr(batches, "_compute_lines", compute_while_another_attempt_finishes)
    with django_capture_on_commit_callbacks(execute=False):
        assert batches.compute_chunk(chunk_id=chunk.pk, worker="first") is False

    chunk.refresh_from_db()
    assert other_attempt == [True]
    assert (chunk.status, chunk.attempts, chunk.worker, chunk.line_count) == ("done", 2, "other", 3)
    assert PaymentLine.objects.filter(batch=batch).count() == 3
    batch.refresh_from_db()
    assert batch.chunks_done == 1


def test_an_attempt_that_finishes_first_keeps_the_count_of_a_duplicates_claim(
    regions, caseload, django_capture_on_commit_callbacks, monkeypatch
):
    batch = planned_batch(regions, django_capture_on_commit_callbacks)
    chunk = batch.chunks.get(number=1)
    compute_lines = batches._compute_lines

    def compute_while_a_duplicate_claims(**kwargs):
        computed = compute_lines(**kwargs)
        BatchChunk.objects.filter(pk=chunk.pk).update(attempts=F("attempts") + 1, worker="dup")
        return computed

    monkeypatch.setattr(batches, "_compute_lines", compute_while_a_duplicate_claims)
    with django_capture_on_commit_callbacks(execute=False):
        assert batches.compute_chunk(chunk_id=chunk.pk, worker="first") is True
    monkeypatch.setattr(batches, "_compute_lines", compute_lines)
    assert batches.compute_chunk(chunk_id=chunk.pk, worker="dup") is False

    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts, chunk.worker, chunk.line_count) == ("done", 2, "first", 3)


def test_recompute_replaces_the_lines_with_todays_facts(
    regions, caseload, django_capture_on_commit_callbacks
):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    old_ids = set(PaymentLine.objects.filter(batch=batch).values_list("pk", flat=True))
    IncomeItem.objects.filter(member__household=caseload[0].household).update(
        monthly_amount=Decimal("600")
    )
    refresh_household_facts(household_ids=[caseload[0].household_id])

    with django_capture_on_commit_callbacks(execute=True):
        batches.recompute_batch(batch=batch, by=None)

    batch.refresh_from_db()
    lines = PaymentLine.objects.filter(batch=batch)
    assert batch.status == PaymentBatch.Status.COMPUTED
    assert lines.count() == 7
    assert not old_ids & set(lines.values_list("pk", flat=True))
    assert lines.get(enrolment=caseload[0]).amount == Decimal("2025")
    assert batch.total_amount == sum(line.amount for line in lines)


def test_an_approved_batch_is_frozen(regions, caseload, django_capture_on_commit_callbacks):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    PaymentBatch.objects.filter(pk=batch.pk).update(status=PaymentBatch.Status.APPROVED)
    batch.refresh_from_db()
    before = line_snapshot(batch)
    IncomeItem.objects.filter(member__household=caseload[0].household).update(
        monthly_amount=Decimal("0")
    )

    with pytest.raises(Conflict), django_capture_on_commit_callbacks(execute=True):
        batches.recompute_batch(batch=batch, by=None)

    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.APPROVED
    assert line_snapshot(batch) == before


def test_a_batch_cannot_be_computed_twice_at_once(regions, caseload):
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    batches.compute_batch(batch=batch)

    with pytest.raises(Conflict):
        batches.compute_batch(batch=batch)
    assert batch.chunks.count() == 3


def test_a_batch_whose_worker_died_completes_on_resume_without_double_counting(
    regions, caseload, django_capture_on_commit_callbacks
):
    # The queue is lost: chunks were planned, one was claimed by a worker that then died.
    batch = planned_batch(regions, django_capture_on_commit_callbacks)
    first, second, _ = batch.chunks.order_by("number")
    BatchChunk.objects.filter(pk=first.pk).update(status=BatchChunk.Status.RUNNING, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        batches.compute_chunk(chunk_id=second.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.chunks_done) == ("computing", 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert batches.resume_batch(batch=batch) == 2
        batches.resume_batch(batch=batch)

    batch.refresh_from_db()
    lines = PaymentLine.objects.filter(batch=batch)
    assert (batch.status, batch.chunks_done) == ("computed", 3)
    assert sorted(lines.values_list("enrolment_id", flat=True)) == [e.pk for e in caseload]
    assert batch.total_amount == TOTAL
    assert batch.chunks.get(pk=first.pk).attempts == 2


def test_a_batch_with_no_enrolment_closes_empty(regions, django_capture_on_commit_callbacks):
    batch = computed_batch(regions, django_capture_on_commit_callbacks)

    assert (batch.status, batch.chunks_total, batch.line_count) == ("computed", 0, 0)


def test_beat_creates_a_draft_batch_for_each_city_with_enrolments(regions):
    EnrolmentFactory(household__village=regions["village_a1"])
    EnrolmentFactory(household__village=regions["village_c1"])
    batches.create_batch(region=regions["changzhou"], month=AUGUST, by=None)

    created = batches.create_draft_batches(month=datetime.date(2024, 8, 5))

    assert [(b.region.code, b.month, b.status) for b in created] == [
        ("321100000000", AUGUST, "draft")
    ]
    assert PaymentBatch.objects.count() == 2
    assert batches.create_draft_batches(month=AUGUST) == []


def test_relief_instalments_due_are_paid_once_even_when_recomputed(
    regions, caseload, make_user, django_capture_on_commit_callbacks
):
    household = caseload[1].household
    relief = ReliefCase.objects.create(
        household=household,
        kind=ReliefCase.Kind.SPENDING_SHOCK,
        cause=ReliefCase.Cause.MEDICAL,
        need="住院自付",
        proposed_amount=Decimal("3000"),
        tier=ReliefCase.Tier.COUNTY,
        status=ReliefCase.Status.APPROVED,
        created_by=make_user("caseworker", regions["town_a"]),
    )
    due = ReliefInstalment.objects.create(
        relief=relief,
        household=household,
        region_code=household.region_code,
        due_month=AUGUST,
        amount=Decimal("1500"),
    )
    ReliefInstalment.objects.create(
        relief=relief,
        household=household,
        region_code=household.region_code,
        due_month=datetime.date(2024, 9, 1),
        amount=Decimal("1500"),
    )

    batch = computed_batch(regions, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        batches.recompute_batch(batch=batch, by=None)

    batch.refresh_from_db()
    line = PaymentLine.objects.get(batch=batch, kind=PaymentLine.Kind.RELIEF_INSTALMENT)
    assert (line.household, line.amount) == (household, Decimal("1500"))
    assert line.source_ref == f"relief-instalment:{due.pk}"
    assert line.bank_account_number == household.bank_account_number
    assert ReliefInstalment.objects.filter(paid_batch=batch).get() == due
    assert (batch.line_count, batch.total_amount) == (8, TOTAL + 1500)


def test_a_failed_transfer_with_a_fixed_account_is_reissued_in_the_next_batch(
    regions, caseload, django_capture_on_commit_callbacks
):
    july = computed_batch(regions, django_capture_on_commit_callbacks, month=JULY)
    household = caseload[0].household
    PaymentLine.objects.filter(batch=july, household=household).update(
        status=PaymentLine.Status.FAILED, failure_reason="账户已销户"
    )
    household.bank_account_number = "6222020000000000014"
    household.save()

    august = computed_batch(regions, django_capture_on_commit_callbacks)

    reissue = PaymentLine.objects.get(batch=august, kind=PaymentLine.Kind.REISSUE)
    assert (reissue.household, reissue.amount) == (household, Decimal("1725"))
    assert reissue.bank_account_number == "6222020000000000014"
    assert august.line_count == 8
    assert august.total_amount == TOTAL + 1725


def test_bulk_read_facts_equal_the_facts_of_each_enrolment(regions, caseload, make_user):
    clerk = make_user("caseworker", regions["jingkou"])
    leaving = caseload[0].household.members.last()
    move_member(
        member=leaving,
        to_household=caseload[1].household,
        moved_on=datetime.date(2024, 8, 10),
        reason="投靠亲属",
        by=clerk,
    )
    Member.objects.filter(pk=caseload[2].household.members.first().pk).update(
        is_alive=False, death_date=datetime.date(2024, 7, 20)
    )
    IncomeItemFactory(
        member=caseload[3].household.members.first(),
        type="medical_deduction",
        monthly_amount=Decimal("200"),
    )
    IncomeItemFactory(
        member=caseload[3].household.members.first(),
        type="scholarship",
        monthly_amount=Decimal("300"),
    )
    IncomeItemFactory(
        member=caseload[5].household.members.first(),
        monthly_amount=Decimal("400"),
        valid_from=datetime.date(2024, 8, 31),
    )
    IncomeItemFactory(
        member=caseload[5].household.members.first(),
        monthly_amount=Decimal("700"),
        valid_to=datetime.date(2024, 7, 31),
    )
    Enrolment.objects.filter(pk=caseload[6].pk).update(
        status="gradual_exit",
        gradual_exit_amount=Decimal("1725"),
        gradual_exit_from=datetime.date(2024, 2, 1),
        gradual_exit_until=datetime.date(2024, 7, 1),
    )
    for number, enrolment in enumerate(caseload):  # each household its own account
        Household.objects.filter(pk=enrolment.household_id).update(
            bank_account_holder=f"户主{number}", bank_account_number=f"62220200000001{number:05d}"
        )
    enrolments = enrolments_in_force(region_prefix="321102", month=AUGUST)
    first, last = enrolments.order_by("id").first().pk, enrolments.order_by("id").last().pk

    rows = payroll_io.read_enrolments(enrolments=enrolments, first_id=first, last_id=last)
    households = payroll_io.read_households(
        household_ids={r.household_id for r in rows}, month=AUGUST
    )

    assert len(rows) == 7
    for row in rows:
        expected = facts_for_enrolment(enrolment=Enrolment.objects.get(pk=row.id), month=AUGUST)
        bulk = (
            batch_lines.enrolment_facts(row, AUGUST),
            households.get(row.household_id, HouseholdFacts(row.household_id, ())),
        )
        assert bulk == expected
    exiting = next(row for row in rows if row.id == caseload[6].pk)
    assert exiting.gradual_exit_from == datetime.date(2024, 2, 1)
    assert [row.id for row in rows] == sorted(row.id for row in rows)
    for row in rows:
        household = Household.objects.get(pk=row.household_id)
        assert (row.bank_name, row.bank_account_holder, row.bank_account_number) == (
            household.bank_name,
            household.bank_account_holder,
            household.bank_account_number,
        )


def test_only_batches_that_stopped_progressing_are_resumed(
    regions, caseload, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        stalled = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
        batches.compute_batch(batch=stalled)
        fresh = batches.create_batch(region=regions["jingkou"], month=JULY, by=None)
        batches.compute_batch(batch=fresh)
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    PaymentBatch.objects.filter(pk=stalled.pk).update(updated_at=an_hour_ago)

    with django_capture_on_commit_callbacks(execute=True):
        resumed = batches.resume_stalled_batches(stalled_after=datetime.timedelta(minutes=5))

    assert resumed == [stalled.pk]
    stalled.refresh_from_db()
    fresh.refresh_from_db()
    assert (stalled.status, stalled.line_count) == ("computed", 7)
    assert (fresh.status, fresh.chunks_done) == ("computing", 0)


def test_a_chunk_that_fails_for_good_shows_why_until_resumed(
    regions, caseload, django_capture_on_commit_callbacks
):
    Standard.objects.filter(component="standard").delete()

    with django_capture_on_commit_callbacks(execute=True):
        batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
        batches.compute_batch(batch=batch)

    batch = PaymentBatch.objects.get()
    assert batch.status == "failed"
    assert "standard" in batch.error
    assert not PaymentLine.objects.exists()
    stalled_after = datetime.timedelta(0)
    assert batches.resume_stalled_batches(stalled_after=stalled_after) == []

    load_standards()
    with django_capture_on_commit_callbacks(execute=True):
        batches.resume_batch(batch=batch)

    batch.refresh_from_db()
    assert (batch.status, batch.error, batch.line_count) == ("computed", "", 7)


def test_a_line_made_from_remembered_facts_is_explained_from_its_own_facts(regions, monkeypatch):
    # A worker computes each facts key once: the second household (other ids, other ages in the
    # same bands) takes the first one's amount and digest, and its explanation, asked for as if
    # the database lacked it, is rendered again from its own facts, identical.
    monkeypatch.setattr(batch_lines, "_RESULTS", {})
    load_standards()
    batch = batches.create_batch(region=regions["jingkou"], month=AUGUST, by=None)
    village = regions["village_a1"].code

    def lines_of(household_id: int, ages: tuple[int, ...]):
        row = payroll_io.EnrolmentRow(
            household_id, household_id, None, "dibao", "", "active", None, None, None, village,
            "bank", "holder", "6222020000000000006",
        )  # fmt: skip
        members = tuple(
            MemberFacts(household_id * 10 + n, age, Decimal("900") if n == 0 else Decimal(0))
            for n, age in enumerate(ages)
        )
        builder = batch_lines.LineBuilder(batch=batch, cpi_rise_percent=None)
        [line] = builder.lines([row], {household_id: HouseholdFacts(household_id, members)})
        return line, builder.explanations

    first, first_explanations = lines_of(1, (40, 35, 10))
    second, second_explanations = lines_of(2, (45, 59, 12))

    amount = payroll_io.LINE_COLUMNS.index("amount")
    digest = payroll_io.LINE_COLUMNS.index("explanation_ref_id")
    assert (second[amount], second[digest]) == (first[amount], first[digest])
    assert dict(second_explanations) == dict(first_explanations)
    assert len(batch_lines._RESULTS) == 1
    assert len(next(iter(batch_lines._RESULTS.values()))) == 1


def test_a_worker_remembers_results_within_its_bound_forgetting_the_least_recently_used_first(
    monkeypatch, params_for
):
    monkeypatch.setattr(batch_lines, "_RESULTS", {})
    monkeypatch.setattr(batch_lines, "RESULTS_LIMIT", 4)
    july, august, changzhou = (
        params_for("zhenjiang", "2024-06"),
        params_for("zhenjiang", "2024-08"),
        params_for("changzhou", "2024-08"),
    )
    for params, keys in ((july, "ab"), (august, "cd")):
        memo = batch_lines._results_for(params, None)
        for key in keys:
            memo.remember(key, ())
    assert batch_lines._results_for(july, None) is batch_lines._results_for(july, None)
    assert batch_lines._results_for(july, Decimal("3.2")) is not batch_lines._results_for(
        july, None
    )

    # 5 keys, until the next chunk:
    batch_lines._results_for(changzhou, None).remember("e", ())
    batch_lines._results_for(changzhou, None)  # August's go, the least recently used

    remembered = [sorted(memo) for memo in batch_lines._RESULTS.values()]
    assert remembered == [[], ["a", "b"], ["e"]]

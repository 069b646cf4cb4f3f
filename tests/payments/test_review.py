import datetime
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from beneficiaries.models import User
from casework.models import Adjustment
from core.exceptions import Conflict, DomainError
from payments import batches
from payments.approval import approve_batch, submit_batch
from payments.models import BatchReview, PaymentBatch, PaymentLine
from payments.review import (
    diff_counts,
    diff_lines,
    is_kept,
    summary,
    totals_by_category,
    totals_by_district,
)
from tests.db import triggers_off
from tests.factories import HouseholdFactory

JUL = datetime.date(2024, 7, 1)
AUG = datetime.date(2024, 8, 1)


def _adjust(enrolment, kind, month, reason):
    proposer, _ = User.objects.get_or_create(username="proposer", defaults={"role": "caseworker"})
    approver, _ = User.objects.get_or_create(
        username="county-approver", defaults={"role": "county_approver"}
    )
    return Adjustment.objects.create(
        enrolment=enrolment,
        region_code=enrolment.region_code,
        kind=kind,
        reason_code=kind,
        reason_text=reason,
        effective_month=month,
        proposed_by=proposer,
        approved_by=approver,
    )


@pytest.fixture
def two_months(regions, make_batch, add_line):
    """July: A 1725, B 500, C 300. August: A 1725, B 600 (increase), D 900 (new); C stopped."""
    homes = {k: HouseholdFactory(village=regions["village_a1"]) for k in "ABC"}
    homes["D"] = HouseholdFactory(village=regions["village_b1"])
    july = make_batch(JUL, status=PaymentBatch.Status.RECONCILED)
    august = make_batch(AUG)
    for key, amount in {"A": "1725", "B": "500", "C": "300"}.items():
        add_line(july, homes[key], amount)
    for key, amount in {"A": "1725", "B": "600", "D": "900"}.items():
        add_line(august, homes[key], amount)
    enrolment = {key: household.enrolments.get() for key, household in homes.items()}
    adjustments = {
        "B": _adjust(enrolment["B"], "increase", AUG, "收入减少"),
        "C": _adjust(enrolment["C"], "stop", AUG, "收入超过标准"),
        "D": _adjust(enrolment["D"], "new", AUG, "新纳入低保"),
    }
    return august, enrolment, adjustments


def test_totals_are_given_by_category_and_by_district(two_months, regions):
    august, _, _ = two_months

    (dibao,) = totals_by_category(batch=august)
    districts = totals_by_district(batch=august)

    assert (dibao.line_count, dibao.amount) == (3, Decimal("3225"))
    assert [(d.key, d.name, d.amount) for d in districts] == [("321102", "京口区", Decimal("3225"))]


def test_the_difference_from_last_month_links_each_line_to_its_adjustment(two_months):
    august, enrolment, adjustments = two_months

    new = list(diff_lines(batch=august, change="new"))
    stopped = list(diff_lines(batch=august, change="stopped"))
    changed = list(diff_lines(batch=august, change="changed"))

    assert [(line.enrolment_id, line.adjustment_id) for line in new] == [
        (enrolment["D"].pk, adjustments["D"].pk)
    ]
    assert [(line.enrolment_id, line.adjustment_kind) for line in stopped] == [
        (enrolment["C"].pk, "stop")
    ]
    assert [(line.amount, line.previous_amount, line.adjustment_reason) for line in changed] == [
        (Decimal("600"), Decimal("500"), "收入减少")
    ]
    assert diff_counts(batch=august) == {"new": 1, "stopped": 1, "changed": 1}


def test_the_preparer_cannot_approve_their_own_batch(make_batch, preparer):
    batch = make_batch(AUG)

    with pytest.raises(DomainError, match="制单人"):
        approve_batch(batch=batch, by=preparer)

    batch.refresh_from_db()
    assert (batch.status, batch.approved_by, batch.approved_at) == ("computed", None, None)


def test_another_finance_user_approves_and_approving_twice_is_refused(
    make_batch, approver, make_user, regions
):
    batch = approve_batch(batch=make_batch(AUG), by=approver)
    second = make_user("finance", regions["zhenjiang"])

    with pytest.raises(Conflict, match="不能重复审批"):
        approve_batch(batch=PaymentBatch.objects.get(pk=batch.pk), by=second)

    again = PaymentBatch.objects.get(pk=batch.pk)
    assert (again.status, again.approved_by, again.approved_at) == (
        "approved",
        approver,
        batch.approved_at,
    )


def test_a_batch_still_computing_cannot_be_approved(make_batch, approver):
    batch = make_batch(AUG, status=PaymentBatch.Status.COMPUTING)

    with pytest.raises(Conflict):
        approve_batch(batch=batch, by=approver)

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computing"


def test_a_caseworker_cannot_approve(make_batch, make_user, regions):
    batch = make_batch(AUG)

    with pytest.raises(DomainError):
        approve_batch(batch=batch, by=make_user("caseworker", regions["town_a"]))

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"


def test_the_database_refuses_an_approver_who_prepared_the_batch(make_batch, preparer):
    batch = make_batch(AUG)

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentBatch.objects.filter(pk=batch.pk).update(approved_by=preparer)

    assert PaymentBatch.objects.get(pk=batch.pk).approved_by is None


@pytest.mark.postgres
def test_the_database_refuses_to_change_what_an_approved_line_pays(
    make_batch, add_line, household, approver
):
    batch = make_batch(AUG)
    line = add_line(batch, household, "1725")
    approve_batch(batch=batch, by=approver)

    with pytest.raises(Exception, match="Cannot update"), transaction.atomic():
        PaymentLine.objects.filter(pk=line.pk).update(amount=Decimal("9999"))
    PaymentLine.objects.filter(pk=line.pk).update(status=PaymentLine.Status.PAID)

    assert PaymentLine.objects.get(pk=line.pk).amount == Decimal("1725")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkers_approving_at_once_approve_it_once(make_batch, approver, make_user, regions):
    batch = make_batch(AUG)
    checkers = [approver, make_user("finance", regions["zhenjiang"])]
    outcomes = []

    def approve(user):
        try:
            approve_batch(batch=PaymentBatch.objects.get(pk=batch.pk), by=user)
            outcomes.append("approved")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["approved", "refused"]
    assert PaymentBatch.objects.get(pk=batch.pk).approved_by in checkers


def test_a_batch_drafted_by_the_system_is_submitted_by_one_finance_user_and_approved_by_another(
    make_batch, preparer, approver
):
    batch = make_batch(AUG, prepared_by=None)

    with pytest.raises(Conflict) as error:
        approve_batch(batch=batch, by=approver)

    assert error.value.code == "not_submitted"
    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"
    submit_batch(batch=batch, by=preparer)
    with pytest.raises(DomainError):
        approve_batch(batch=batch, by=preparer)
    approve_batch(batch=batch, by=approver)
    approved = PaymentBatch.objects.get(pk=batch.pk)
    assert (approved.status, approved.prepared_by, approved.approved_by) == (
        "approved",
        preparer,
        approver,
    )


def test_a_finance_user_who_recomputes_a_batch_becomes_its_preparer_and_cannot_approve_it(
    regions, make_user, preparer, approver, household
):
    batch = batches.create_batch(region=regions["zhenjiang"], month=AUG, by=preparer)
    batches.compute_batch(batch=batch, inline=True)
    batches.recompute_batch(batch=batch, by=approver, inline=True)

    with pytest.raises(DomainError):
        approve_batch(batch=batch, by=approver)

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"
    approve_batch(batch=batch, by=preparer)
    assert PaymentBatch.objects.get(pk=batch.pk).approved_by == preparer


@pytest.mark.parametrize("role", ["admin", "county_approver", "auditor"])
def test_no_role_but_finance_approves_a_batch_not_even_an_administrator(
    make_batch, make_user, regions, role
):
    batch = make_batch(AUG)
    user = make_user(role, regions["zhenjiang"], is_superuser=role == "admin")

    with pytest.raises(DomainError):
        approve_batch(batch=batch, by=user)

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"


def test_a_finance_user_of_another_city_cannot_approve(make_batch, make_user, regions):
    batch = make_batch(AUG)

    with pytest.raises(Conflict):
        approve_batch(batch=batch, by=make_user("finance", regions["changzhou"]))

    assert PaymentBatch.objects.get(pk=batch.pk).status == "computed"


@pytest.mark.postgres
def test_the_database_refuses_an_approval_without_a_second_finance_user(
    make_batch, preparer, approver, make_user, regions
):
    drafted = make_batch(AUG, prepared_by=None)
    prepared = make_batch(JUL)
    admin = make_user("admin", regions["zhenjiang"], is_superuser=True)
    elsewhere = make_user("finance", regions["changzhou"])

    for batch, user in ((drafted, approver), (prepared, admin), (prepared, elsewhere)):
        with pytest.raises(IntegrityError), transaction.atomic():
            PaymentBatch.objects.filter(pk=batch.pk).update(status="approved", approved_by=user)

    assert not PaymentBatch.objects.filter(approved_by__isnull=False).exists()


def test_the_review_is_counted_once_and_again_when_a_batch_s_lines_change(
    two_months, add_line, regions
):
    august, _, _ = two_months
    first = summary(batch=august)

    with CaptureQueriesContext(connection) as read_again:
        again = summary(batch=august)
    add_line(august, HouseholdFactory(village=regions["village_b1"]), "800")
    changed = summary(batch=august)

    assert first.changes == {"new": 1, "stopped": 1, "changed": 1}
    assert [(t.line_count, t.amount) for t in first.by_category] == [(3, Decimal("3225"))]
    assert again == first
    assert {change: len(ids) for change, ids in first.ids.items()} == {
        "new": 1,
        "stopped": 1,
        "changed": 1,
    }
    # The previous batch, the first and last line id of both batches, the kept review.
    assert len(read_again) <= 4
    assert changed.changes == {"new": 2, "stopped": 1, "changed": 1}
    assert [(t.line_count, t.amount) for t in changed.by_category] == [(4, Decimal("4025"))]
    assert BatchReview.objects.get(batch=august).summary["changes"]["new"] == 2


def test_a_review_of_the_previous_month_s_recomputed_lines_is_counted_again(
    two_months, add_line, regions
):
    august, enrolment, _ = two_months
    assert not is_kept(batch=august)
    summary(batch=august)
    assert is_kept(batch=august)
    july = PaymentBatch.objects.get(month=JUL)
    with triggers_off():
        PaymentLine.objects.filter(batch=july, enrolment=enrolment["B"]).delete()
        add_line(july, enrolment["B"].household, "600", enrolment=enrolment["B"])

    assert not is_kept(batch=august)  # kept for July's lines as they were
    assert summary(batch=august).changes == {"new": 1, "stopped": 1, "changed": 0}
    assert is_kept(batch=august)


def test_a_batch_still_computing_is_counted_afresh_and_not_kept(make_batch, add_line, household):
    batch = make_batch(AUG, status=PaymentBatch.Status.COMPUTING)
    add_line(batch, household, "1725")

    assert summary(batch=batch).changes == {"new": 1, "stopped": 0, "changed": 0}
    add_line(batch, HouseholdFactory(village=household.village), "500")
    assert summary(batch=batch).changes == {"new": 2, "stopped": 0, "changed": 0}
    assert not BatchReview.objects.exists()


@pytest.mark.parametrize("kept_ids", [5000, 2])
def test_the_diff_pages_count_as_the_review_and_list_the_same_lines(
    client, two_months, approver, add_line, regions, monkeypatch, kept_ids
):
    # Up to KEPT_IDS lines of a list are read by their kept ids; more, by the list's query.
    monkeypatch.setattr("payments.review.KEPT_IDS", kept_ids)
    august, _, _ = two_months
    for _ in range(2):
        add_line(august, HouseholdFactory(village=regions["village_b1"]), "900")
    client.force_login(approver)
    new = [line.pk for line in diff_lines(batch=august, change="new")]

    pages = [
        client.get(f"/api/batches/{august.pk}/diff/?change=new&page_size=2&page={n}").json()
        for n in (1, 2)
    ]
    with CaptureQueriesContext(connection) as read:
        changed = client.get(f"/api/batches/{august.pk}/diff/?change=changed").json()
    stopped = client.get(f"/api/batches/{august.pk}/diff/?change=stopped").json()

    assert [page["count"] for page in pages] == [3, 3]
    assert [line["id"] for page in pages for line in page["results"]] == new
    assert pages[0]["next"] and pages[1]["next"] is None
    assert (changed["count"], [line["amount"] for line in changed["results"]]) == (1, ["600.00"])
    assert (stopped["count"], [line["previous_amount"] for line in stopped["results"]]) == (
        1,
        ["300.00"],
    )
    # Session, user, batch, the kept review (previous batch, line ids, review), the page, the
    # explanations' parameters, the read log: not one count of the lines.
    assert not [q for q in read.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(read) <= 12
    assert ("new" in summary(batch=august).ids) is (kept_ids >= 3)


def test_a_batch_closed_by_its_task_has_its_review_counted_before_anyone_reads_it(
    make_batch, add_line, household
):
    from payments import tasks

    september = make_batch(datetime.date(2024, 9, 1), status=PaymentBatch.Status.COMPUTING)
    add_line(september, household, "1725")

    assert tasks.finalize_batch.delay(september.pk).get() is True

    september.refresh_from_db()
    assert september.status == PaymentBatch.Status.COMPUTED
    kept = BatchReview.objects.get(batch=september)
    assert kept.summary["changes"] == {"new": 1, "stopped": 0, "changed": 0}
    with CaptureQueriesContext(connection) as reading:
        assert summary(batch=september).changes == kept.summary["changes"]
    assert len(reading) <= 4  # read from what was kept, not counted again

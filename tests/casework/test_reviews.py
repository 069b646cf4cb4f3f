import datetime

import pytest
from django.utils import timezone

from casework import selectors
from casework.models import Adjustment, Enrolment, Review
from casework.services import changes, enrolments, reviews
from core.exceptions import DomainError
from core.months import add_months, first_of_month

START = datetime.date(2024, 1, 1)


@pytest.fixture
def stable(household, family, caseworker, approver):
    return enrolments.enrol(
        household=household,
        category="dibao",
        start_month=START,
        by=caseworker,
        approved_by=approver,
    )


@pytest.fixture
def able_to_work(household, family, caseworker, approver):
    return enrolments.enrol(
        household=household,
        category="single_dibao",
        member=family["spouse"],
        review_class="able_to_work",
        start_month=START,
        by=caseworker,
        approved_by=approver,
    )


def test_reviews_are_listed_when_due_by_class(stable, able_to_work, caseworker, other_caseworker):
    assert list(selectors.reviews_due(user=caseworker, on=datetime.date(2024, 6, 30))) == []
    assert list(selectors.reviews_due(user=caseworker, on=datetime.date(2024, 7, 1))) == [
        able_to_work
    ]
    assert list(selectors.reviews_due(user=caseworker, on=datetime.date(2025, 1, 1))) == [
        able_to_work,
        stable,
    ]
    assert not selectors.reviews_due(user=other_caseworker, on=datetime.date(2025, 1, 1)).exists()


def test_a_confirming_review_is_recorded_and_the_next_one_scheduled(stable, caseworker):
    review = reviews.review_enrolment(enrolment=stable, note="家庭情况无变化", by=caseworker)
    assert review.outcome == Review.Outcome.CONFIRMED
    assert review.due_on == datetime.date(2025, 1, 1)
    assert review.adjustment.kind == Adjustment.Kind.REVIEW_CONFIRMED
    assert review.adjustment.reason_text == "家庭情况无变化"
    stable.refresh_from_db()
    assert stable.next_review_due == add_months(first_of_month(timezone.localdate()), 12)
    assert stable.status == Enrolment.Status.ACTIVE


def test_a_review_proposes_a_change_that_a_second_person_makes(able_to_work, caseworker, approver):
    review = reviews.review_enrolment(
        enrolment=able_to_work, note="已就业,月收入3000元", change="stop", by=caseworker
    )
    assert review.outcome == Review.Outcome.ADJUSTED
    assert review.adjustment is None
    proposal = review.change_request
    assert (proposal.kind, proposal.status) == ("stop", "proposed")
    assert proposal.reason_code == "periodic_review"
    assert proposal.effective_month == add_months(first_of_month(timezone.localdate()), 1)
    able_to_work.refresh_from_db()
    assert (able_to_work.status, able_to_work.end_month) == (Enrolment.Status.ACTIVE, None)

    changes.approve_change(change=proposal, by=approver)

    proposal.refresh_from_db()
    assert proposal.adjustment.kind == Adjustment.Kind.STOP
    assert (proposal.adjustment.proposed_by, proposal.adjustment.approved_by) == (
        caseworker,
        approver,
    )
    able_to_work.refresh_from_db()
    assert able_to_work.end_month == first_of_month(timezone.localdate())
    assert able_to_work.next_review_due is None


def test_a_review_needs_a_note(stable, caseworker):
    with pytest.raises(DomainError):
        reviews.review_enrolment(enrolment=stable, note="", by=caseworker)
    assert not Review.objects.exists()
    assert stable.adjustments.count() == 1

"""A payment line's batch, enrolment, household and explanation always exist (PostgreSQL).

They are checked once per insert statement and guarded on delete (migration 0006) instead of by
row-by-row foreign keys; these tests hold the replacement to what the foreign keys promised.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from beneficiaries.models import Household
from payments import partitions
from payments.explanations import digest_of as explanation_digest
from payments.explanations import make
from payments.models import PaymentBatch, PaymentExplanation, PaymentLine
from tests.db import as_owner
from tests.factories import HouseholdFactory
from tests.payments.conftest import AUGUST, write_lines
from tests.payments.conftest import line_row as payments_line_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXPLANATION = '{"steps":[{"formula":"","inputs":{},"result":"1725","rule":"test"}],"versions":{}}'


def line_row(batch, enrolment, **changes) -> tuple:
    values = {
        "enrolment_id": enrolment.pk,
        "household_id": enrolment.household_id,
        "region_code": enrolment.region_code,
        "amount": "1725",
        "explanation_ref_id": explanation_digest(EXPLANATION),
    }
    return payments_line_row(batch, **(values | changes))


@pytest.fixture
def batch(regions):
    partitions.ensure_months([AUGUST])  # the lines go into their month's partition
    return PaymentBatch.objects.create(region=regions["jingkou"], month=AUGUST)


@pytest.fixture
def explanations():
    return {explanation_digest(EXPLANATION): EXPLANATION}


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"enrolment_id": None, "household_id": 987654321}, "missing household: 987654321"),
        ({"enrolment_id": 987654321}, "missing enrolment, or one of another household: 987654321"),
        ({"batch_id": 987654321}, "missing batch: 987654321"),
        ({"explanation_ref_id": "f" * 64}, "missing explanation: " + "f" * 64),
    ],
)
def test_a_copy_referencing_a_missing_row_is_refused_whole(
    batch, caseload, explanations, changes, named
):
    good = line_row(batch, caseload[0])
    bad = line_row(batch, caseload[1], **changes)

    with pytest.raises(IntegrityError, match=named), transaction.atomic():
        write_lines([good, bad], explanations)

    assert not PaymentLine.objects.exists()


def test_a_line_pairing_an_enrolment_with_another_household_is_refused(
    batch, caseload, explanations
):
    stray = line_row(batch, caseload[0], household_id=caseload[1].household_id)

    with pytest.raises(IntegrityError, match="or one of another household"), transaction.atomic():
        write_lines([stray], explanations)

    assert not PaymentLine.objects.exists()


def test_lines_with_every_reference_present_are_written(batch, caseload, explanations):
    write_lines([line_row(batch, e) for e in caseload[:3]], explanations)

    assert PaymentLine.objects.filter(batch=batch).count() == 3


@pytest.mark.parametrize(
    "table, key",
    [
        ("beneficiaries_household", "household_id"),
        ("casework_enrolment", "enrolment_id"),
        ("payments_paymentbatch", "batch_id"),
    ],
)
def test_a_row_some_line_references_cannot_be_deleted(batch, caseload, explanations, table, key):
    write_lines([line_row(batch, caseload[0])], explanations)
    line = PaymentLine.objects.get()
    if table == "casework_enrolment":  # what else points to the enrolment goes first
        with as_owner(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE casework_adjustment DISABLE TRIGGER ALL")
            cursor.execute(
                "DELETE FROM casework_adjustment WHERE enrolment_id = %s", [line.enrolment_id]
            )

    with (
        pytest.raises(IntegrityError, match="is referenced by payment lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [getattr(line, key)])

    assert PaymentLine.objects.filter(pk=line.pk).exists()


def test_a_household_no_line_references_can_still_be_deleted(batch, caseload, explanations):
    write_lines([line_row(batch, caseload[0])], explanations)
    household = HouseholdFactory(village=caseload[0].household.village)

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM beneficiaries_household WHERE id = %s", [household.pk])

    assert not Household.objects.filter(pk=household.pk).exists()


def test_deleting_a_batch_through_the_orm_removes_its_lines_first(batch, caseload, explanations):
    write_lines([line_row(batch, e) for e in caseload[:2]], explanations)

    batch.delete()

    assert not PaymentLine.objects.exists()


def test_an_explanation_is_never_deleted_even_when_no_line_uses_it():
    unused = make([("not_paid", (), 0)])
    unused.save(force_insert=True)  # as the app writes them: INSERT only, never UPDATE

    # The table's trigger refuses even its owner (the app role has no DELETE on it at all).
    with (
        as_owner(),
        pytest.raises(Exception, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM payments_paymentexplanation WHERE digest = %s", [unused.digest])

    assert PaymentExplanation.objects.filter(digest=unused.digest).exists()

"""The database holds against the app's own connection: connected as the app role (which owns
nothing, with the grants ``migrate`` gives it), each tampering below fails and changes nothing,
``SET LOCAL pgtrigger.ignore`` or not, while the app's own work (reads, new rows, a line's
status, a batch moving on) still goes through."""

import datetime
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from beneficiaries.models import User
from casework.models import Adjustment
from casework.services import enrolments
from core.dbroles import append_only_tables, grant_app_role
from payments import approval, batches
from payments.models import PaymentBatch, PaymentLine
from rules.parameters import load_standards
from tests.factories import HouseholdFactory, MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROLE = "doudi_app_test"
AUG = datetime.date(2024, 8, 1)


def ignore_every_pgtrigger() -> str:
    """``SET LOCAL pgtrigger.ignore`` naming every pgtrigger trigger of the database (both
    forms pgtrigger reads: ``table:trigger`` and the trigger alone): the session tells each of
    them to stand aside."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'pgtrigger_%%'"
        )
        names = [
            name for table, trigger in cursor.fetchall() for name in (f"{table}:{trigger}", trigger)
        ]
    return "SET LOCAL pgtrigger.ignore = '{" + ",".join(names) + "}'"


@pytest.fixture
def app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ROLE)))
    grant_app_role(role=ROLE)
    return ROLE


@pytest.fixture
def approved_batch(regions, make_user):
    """A Zhenjiang household enrolled on two signatures, and August's batch computed by one
    finance user and approved by another."""
    load_standards()
    household = HouseholdFactory(village=regions["village_a1"])
    MemberFactory(household=household, id_number="321102195501010016")
    enrolments.enrol(
        household=household,
        category="dibao",
        start_month=AUG,
        by=make_user("caseworker", regions["town_a"]),
        approved_by=make_user("county_approver", regions["jingkou"]),
    )
    preparer = make_user("finance", regions["zhenjiang"])
    batch = batches.create_batch(region=regions["zhenjiang"], month=AUG, by=preparer)
    batches.compute_batch(batch=batch, inline=True)
    return approval.approve_batch(batch=batch, by=make_user("finance", regions["zhenjiang"]))


@pytest.fixture
def as_app(app_role):
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=app_role,
        autocommit=True,
    ) as app:

        def attempt(*statements):
            """Run the statements in one transaction as the app role; the error it fails with."""
            with pytest.raises(psycopg.Error) as error:
                with app.transaction():
                    for statement, *params in statements:
                        app.execute(statement, *params)
            return error.value

        app.attempt = attempt
        app.ignore = ignore_every_pgtrigger()
        yield app


def line_of(batch):
    return PaymentLine.objects.filter(batch=batch).values().get()


def test_the_app_role_owns_nothing(as_app):
    owned = as_app.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s",
        [ROLE],
    ).fetchone()[0]
    assert owned == 0


def test_the_app_role_cannot_delete_adjustments_even_with_pgtrigger_ignore(as_app, approved_batch):
    before = list(Adjustment.objects.values())

    error = as_app.attempt((as_app.ignore,), ("DELETE FROM casework_adjustment",))

    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    error = as_app.attempt(
        (as_app.ignore,), ("UPDATE casework_adjustment SET amount_after = 88888.00",)
    )
    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    assert list(Adjustment.objects.values()) == before


@pytest.mark.parametrize(
    "change",
    [
        "amount = 99999.00",
        "bank_account_number = '6222029999999999999'",
        "bank_account_holder = '冒领人'",
    ],
)
def test_an_approved_line_keeps_what_it_pays_and_where_even_with_pgtrigger_ignore(
    as_app, approved_batch, change
):
    before = line_of(approved_batch)

    as_app.attempt(
        (as_app.ignore,),
        (f"UPDATE payments_paymentline SET {change} WHERE batch_id = %s", [approved_batch.pk]),
    )

    assert line_of(approved_batch) == before


def test_no_line_is_added_to_or_deleted_from_an_approved_batch(as_app, approved_batch):
    before = line_of(approved_batch)
    copy = (
        "INSERT INTO payments_paymentline (batch_id, month, kind, enrolment_id, household_id, "
        "region_code, category, source_ref, amount, explanation_ref_id, bank_name, "
        "bank_account_holder, bank_account_number, status, failure_reason) "
        "SELECT batch_id, month, 'back_pay', enrolment_id, household_id, region_code, category, "
        "'', 50000.00, explanation_ref_id, bank_name, bank_account_holder, "
        "bank_account_number, 'pending', '' FROM payments_paymentline WHERE batch_id = %s"
    )

    as_app.attempt((copy, [approved_batch.pk]))
    # Nor by naming the month's partition, which checks an insert as the lines do.
    as_app.attempt(
        (
            copy.replace("INTO payments_paymentline ", "INTO payments_paymentline_y2024m08 "),
            [approved_batch.pk],
        )
    )
    as_app.attempt(
        (as_app.ignore,),
        ("DELETE FROM payments_paymentline WHERE batch_id = %s", [approved_batch.pk]),
    )

    assert PaymentLine.objects.filter(batch=approved_batch).count() == 1
    assert line_of(approved_batch) == before


@pytest.mark.parametrize(
    "change",
    [
        "status = 'computed'",
        "status = 'computed', approved_by_id = NULL, approved_at = NULL",
        "total_amount = 99999.00",
        "approved_by_id = prepared_by_id",
    ],
)
def test_an_approved_batch_never_goes_back_or_changes_its_figures(as_app, approved_batch, change):
    before = PaymentBatch.objects.values().get(pk=approved_batch.pk)

    as_app.attempt(
        (as_app.ignore,),
        (f"UPDATE payments_paymentbatch SET {change} WHERE id = %s", [approved_batch.pk]),
    )
    as_app.attempt(("DELETE FROM payments_paymentbatch WHERE id = %s", [approved_batch.pk]))

    assert PaymentBatch.objects.values().get(pk=approved_batch.pk) == before


def test_history_rows_are_never_updated_or_deleted(as_app, approved_batch):
    history = [table for table in append_only_tables() if table.endswith("event")]
    assert {"casework_enrolmentevent", "payments_paymentbatchevent"} <= set(history)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_paymentbatchevent")
        (events,) = cursor.fetchone()
    assert events > 0

    for table in history:
        for statement in (f"DELETE FROM {table}", f"UPDATE {table} SET pgh_label = 'x'"):
            error = as_app.attempt((as_app.ignore,), (statement,))
            assert isinstance(error, psycopg.errors.InsufficientPrivilege), (table, error)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payments_paymentbatchevent")
        assert cursor.fetchone() == (events,)


def test_the_app_role_still_does_the_apps_work(as_app, approved_batch):
    (users,) = as_app.execute("SELECT count(*) FROM beneficiaries_user").fetchone()
    assert users == User.objects.count()
    with as_app.transaction():
        as_app.execute(
            "UPDATE payments_paymentline SET status = 'failed', failure_reason = '账户已销户' "
            "WHERE batch_id = %s",
            [approved_batch.pk],
        )
        as_app.execute(
            "UPDATE payments_paymentbatch SET status = 'exported' WHERE id = %s",
            [approved_batch.pk],
        )

    assert line_of(approved_batch)["status"] == PaymentLine.Status.FAILED
    assert PaymentBatch.objects.get(pk=approved_batch.pk).status == "exported"
    assert line_of(approved_batch)["amount"] > Decimal("0")


def test_a_month_partition_made_by_the_app_takes_its_inserts_and_nothing_more(as_app, regions):
    (made,) = as_app.execute("SELECT payments_line_month_partition('2031-03-01')").fetchone()
    assert made == "payments_paymentline_y2031m03"

    privileges = {
        privilege: as_app.execute(
            "SELECT has_table_privilege(current_user, %s, %s)", [made, privilege]
        ).fetchone()[0]
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    }
    assert privileges == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
    }
    # What readies a partition runs as the owner, for the month function only.
    error = as_app.attempt(
        ("SELECT payments_line_partition_takes_inserts('beneficiaries_household')",)
    )
    assert isinstance(error, psycopg.errors.InsufficientPrivilege)

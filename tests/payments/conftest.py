"""Fixtures for payments: parameters resolved from the seed file without a database (engine),
batches and lines written directly with the ORM (bank), caseloads computed through the batch
services (payroll)."""

import contextlib
import csv
import datetime
import io
from decimal import Decimal

import pytest

from payments import payroll_io
from payments.explanations import create_lines, make
from payments.explanations import store as store_explanations
from payments.models import FROZEN, BankFile, PaymentBatch, PaymentLine
from rules.parameters import build_params, load_standards, read_seed_rows
from tests.db import triggers_off
from tests.factories import EnrolmentFactory, HouseholdFactory, IncomeItemFactory, MemberFactory

AUGUST = datetime.date(2024, 8, 1)
ZHENJIANG_VILLAGE = "321102001001"
CHANGZHOU_VILLAGE = "320402001001"


def line_row(batch: PaymentBatch, **values) -> tuple:
    """A line row of ``batch`` as a chunk writes it (payroll_io.LINE_COLUMNS order): a pending
    dibao line of the batch's month with no enrolment, account or explanation, but for
    ``values``; ``household_id`` and ``region_code`` must be given."""
    row = {
        "batch_id": batch.pk,
        "month": batch.month.isoformat(),
        "kind": "regular",
        "enrolment_id": None,
        "category": "dibao",
        "source_ref": "",
        "amount": "900.00",
        "explanation_ref_id": "",
        "bank_name": "",
        "bank_account_holder": "",
        "bank_account_number": "",
        "status": "pending",
        "failure_reason": "",
    } | values
    return tuple(row[column] for column in payroll_io.LINE_COLUMNS)


def write_lines(rows: list[tuple], explanations: dict[str, str]) -> None:
    """Write line rows as a batch chunk does: their explanations first, then the lines."""
    store_explanations(explanations)
    payroll_io.insert_lines(rows)


@pytest.fixture(scope="session")
def seed_rows():
    return read_seed_rows()[1]


@pytest.fixture(scope="session")
def params_for(seed_rows):
    """params_for("zhenjiang" | "changzhou", "2024-08") → Params from seeds/data/standards.json."""

    def make(city: str, month: str, rows=None):
        region = {"zhenjiang": ZHENJIANG_VILLAGE, "changzhou": CHANGZHOU_VILLAGE}[city]
        day = datetime.date.fromisoformat(f"{month}-01")
        return build_params(seed_rows if rows is None else rows, region_code=region, month=day)

    return make


@pytest.fixture
def preparer(make_user, regions):
    return make_user("finance", regions["zhenjiang"], username="preparer")


@pytest.fixture
def approver(make_user, regions):
    return make_user("finance", regions["zhenjiang"], username="approver")


@pytest.fixture
def household(regions):
    return HouseholdFactory(
        village=regions["village_a1"], bank_account_number="6222020000000000006"
    )


@pytest.fixture
def make_batch(regions, preparer):
    def make(month: datetime.date, status: str = PaymentBatch.Status.COMPUTED, **fields):
        fields.setdefault("prepared_by", preparer)
        return PaymentBatch.objects.create(
            region=regions["zhenjiang"], month=month, status=status, **fields
        )

    return make


@pytest.fixture
def add_line():
    def add(batch, household, amount, *, kind=PaymentLine.Kind.REGULAR, enrolment=None, **fields):
        if kind == PaymentLine.Kind.REGULAR and enrolment is None:
            enrolment = household.enrolments.first() or EnrolmentFactory(household=household)
        fields.setdefault("month", batch.month)
        # A batch made approved (or later) directly takes its lines past the frozen-batch trigger.
        frozen = batch.status in FROZEN
        with triggers_off() if frozen else contextlib.nullcontext():
            (line,) = create_lines(
                [
                    PaymentLine(
                        batch=batch,
                        kind=kind,
                        enrolment=enrolment,
                        household=household,
                        region_code=household.region_code,
                        category=enrolment.category if enrolment else "",
                        amount=Decimal(amount),
                        bank_name=household.bank_name,
                        bank_account_holder=household.bank_account_holder,
                        bank_account_number=household.bank_account_number,
                        explanation_ref=make([]),
                        **fields,
                    )
                ]
            )
        return line

    return add


def make_household(village, incomes: list[Decimal], *, category: str = "dibao", **enrolment):
    """A household with one member per income (the first is the head), enrolled from January."""
    household = HouseholdFactory(village=village)
    for n, income in enumerate(incomes):
        member = MemberFactory(household=household, relation="head" if n == 0 else "child")
        if income:
            IncomeItemFactory(member=member, monthly_amount=income)
    return EnrolmentFactory(household=household, category=category, **enrolment)


@pytest.fixture
def caseload(regions, settings):
    """Seven dibao households across three villages of 京口区, in chunks of three enrolments."""
    settings.PAYROLL_CHUNK_SIZE = 3
    load_standards()
    villages = [regions["village_a1"], regions["village_a2"], regions["village_b1"]]
    incomes = [
        [Decimal("900"), Decimal("0"), Decimal("0")],
        [Decimal("0")],
        [Decimal("1200"), Decimal("300")],
        [Decimal("0"), Decimal("0")],
        [Decimal("2000")],
        [Decimal("500"), Decimal("0"), Decimal("100"), Decimal("0")],
        [Decimal("0"), Decimal("0"), Decimal("0")],
    ]
    return [make_household(villages[n % 3], amounts) for n, amounts in enumerate(incomes)]


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process, except in tests that exercise a real worker (marked ``broker``).
    That worker runs in a thread of the test process: its connection is closed after each task
    (CONN_MAX_AGE 0), so that none is left open on the test database when the session ends
    (a worker process keeps its own: tests/test_worker_connections.py)."""
    if "broker" in request.keywords:
        from django.db import connection

        request.getfixturevalue("monkeypatch").setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
        yield
        return
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def bank_file_root(settings, tmp_path):
    # Users are made in every test here; the default password hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BANK_FILE_ROOT = tmp_path / "bankfiles"
    return settings.BANK_FILE_ROOT


@pytest.fixture
def return_file(bank_file_root):
    """The bank's answer to an exported CSV: every transfer paid unless ``failed`` names it."""

    def make(bank_file: BankFile, failed: dict[int, str] | None = None, edit=None) -> bytes:
        failed = failed or {}
        text = (bank_file_root / bank_file.path).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        for row in rows:
            if row[0] == "D":
                household_id = int(row[2].rsplit("-H", 1)[1])
                reason = failed.get(household_id, "")
                row += ["F", reason] if reason else ["S", ""]
        if edit:
            rows = edit(rows)
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue().encode()

    return make

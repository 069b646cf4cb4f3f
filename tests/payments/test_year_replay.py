"""A demo city replayed across a year through the real batch pipeline.

Zhenjiang, January to December 2024, twelve batches: 840 in force until the 875 standard is
entered in September with effect from July (back pay for July and August in September, never
again); a transfer fails in March and is re-issued once in May, after the account is fixed (not
in April, while it is not); a death in August is recorded only in October, and what September
overpaid is recovered by offset. Every month balances: the sum of the lines equals each exported
file's control total, which equals what the bank paid plus what failed.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from beneficiaries.models import Region, User
from casework.models import Enrolment
from casework.services.registry_events import record_death
from payments.approval import approve_batch
from payments.bankfiles import export_batch
from payments.batches import compute_batch, create_batch
from payments.models import BankFile, PaymentLine, Recovery
from payments.reconciliation import import_return_file
from rules.models import PriceIndex, Standard
from rules.parameters import load_standards
from tests.payments.conftest import make_household

MONTHS = [datetime.date(2024, m, 1) for m in range(1, 13)]
JUL, AUG, SEP = MONTHS[6], MONTHS[7], MONTHS[8]


@pytest.fixture
def city(regions):
    """Zhenjiang's seed parameters without the 2024 standard (entered late, in September)."""
    load_standards()
    Standard.objects.filter(
        region__code="321100000000", component="standard", effective_from=JUL
    ).delete()
    villages = [regions["village_a1"], regions["village_a2"], regions["village_b1"]]
    incomes = {
        "domain_example": [900, 0, 0],
        "single": [0],
        "couple": [1200, 300],
        "bereaved": [500, 0, 0],
        "pair": [0, 0],
        "failing": [300, 0],
    }
    return {
        name: make_household(villages[n % 3], [Decimal(i) for i in amounts])
        for n, (name, amounts) in enumerate(incomes.items())
    }


def _run_month(month, *, region, preparer, approver, return_file, failed=None):
    batch = compute_batch(batch=create_batch(region=region, month=month, by=preparer), inline=True)
    batch = approve_batch(batch=batch, by=approver)
    files = export_batch(batch=batch, by=approver)
    content = return_file(files[0], failed=failed)
    bank_return = import_return_file(batch=batch, content=content, filename="r.csv", by=approver)
    return batch, files, bank_return


def _assert_balanced(batch, files, bank_return):
    """Sum of lines = each exported file's control total = paid + failed; no household below 0."""
    lines_total = batch.lines.aggregate(total=Sum("amount"))["total"] or 0
    assert {f.total_amount for f in files} == {lines_total}, batch.month
    assert bank_return.paid_total + bank_return.failed_total == lines_total, batch.month
    paid = _lines(batch, status="paid").aggregate(total=Sum("amount"))["total"] or 0
    failed = _lines(batch, status="failed").aggregate(total=Sum("amount"))["total"] or 0
    assert paid + failed == lines_total, batch.month
    assert not _lines(batch, status="pending").exists(), batch.month
    for household in batch.lines.values("household").annotate(net=Sum("amount")):
        assert household["net"] >= 0, batch.month


def _lines(batch, **filters):
    return batch.lines.filter(**filters)


def test_a_city_replayed_across_a_year_balances_every_month(
    city, regions, preparer, approver, make_user, return_file
):
    run = {
        "region": regions["zhenjiang"],
        "preparer": preparer,
        "approver": approver,
        "return_file": return_file,
    }
    failing = city["failing"].household
    bereaved = city["bereaved"].household
    caseworker = make_user("caseworker", regions["town_a"])
    batches = {}
    for month in MONTHS:
        failed = {}
        if month == MONTHS[2]:
            failed = {failing.pk: "账户已销户"}
        if month == MONTHS[4]:
            failing.bank_account_number = "6222020000000000014"
            failing.save()
        if month == SEP:
            Standard.objects.create(
                region=regions["zhenjiang"],
                component="standard",
                value=Decimal("875"),
                effective_from=JUL,
                note="2024年9月公布，7月起执行",
            )
        if month == MONTHS[9]:
            record_death(
                member=bereaved.members.order_by("id").last(),
                died_on=datetime.date(2024, 8, 12),
                by=caseworker,
            )
        batch, files, bank_return = _run_month(month, failed=failed, **run)
        batches[month] = batch

        _assert_balanced(batch, files, bank_return)

    # Regular amounts: 840 until the 875 standard, in force from July once entered.
    domain = city["domain_example"]
    regular = {
        month: _lines(batches[month], enrolment=domain, kind="regular").get().amount
        for month in MONTHS
    }
    assert regular[MONTHS[5]] == Decimal("1620")
    assert regular[JUL] == regular[AUG] == Decimal("1620")
    assert regular[SEP] == Decimal("1725")

    # Back pay: July and August in September, (875 − 840) × 3 × 2 = 210; never again.
    back_pay = PaymentLine.objects.filter(kind="back_pay")
    assert {line.batch.month for line in back_pay} == {SEP}
    assert sum(line.amount for line in back_pay.filter(enrolment=domain)) == Decimal("210")
    assert sorted(back_pay.filter(enrolment=domain).values_list("month", flat=True)) == [JUL, AUG]
    assert back_pay.values("enrolment", "month").distinct().count() == back_pay.count()

    # The March failure is re-issued once, in May (the account was fixed before May's batch).
    reissues = PaymentLine.objects.filter(kind="reissue")
    march_failed = _lines(batches[MONTHS[2]], household=failing).aggregate(t=Sum("amount"))["t"]
    assert [(line.batch.month, line.household, line.amount) for line in reissues] == [
        (MONTHS[4], failing, march_failed)
    ]
    assert reissues.get().bank_account_number == "6222020000000000014"

    # The death in August, recorded in October: September was overpaid and is recovered.
    (recovery,) = Recovery.objects.all()
    assert (recovery.household, recovery.month, recovery.reason) == (bereaved, SEP, "death")
    offsets = PaymentLine.objects.filter(kind="recovery", source_ref=recovery.source_ref)
    assert -sum(offset.amount for offset in offsets) == recovery.amount
    assert all(offset.batch.month >= MONTHS[9] for offset in offsets)

    # Every exported file is kept and the year's money adds up.
    assert BankFile.objects.count() == 24
    year_lines = PaymentLine.objects.aggregate(total=Sum("amount"))["total"]
    year_files = BankFile.objects.filter(format="csv").aggregate(t=Sum("total_amount"))["t"]
    assert year_lines == year_files


def test_the_demo_city_replayed_across_2025_balances_every_month(make_user, return_file):
    """The demo caseload of Zhenjiang (dibao, single-person dibao, 特困, children, marginal
    families) through 2025: a price-subsidy month, 900 entered in September from July, a failed
    transfer re-issued, a late death recovered; every month balances."""
    call_command("load_seeds", "--demo-users")
    call_command("load_demo", "--city", "3211", "--households", "40")
    city = Region.objects.get(code="321100000000")
    months = [datetime.date(2025, m, 1) for m in range(1, 13)]
    PriceIndex.objects.create(region=city, month=months[2], cpi_rise_percent=Decimal("3.2"))
    run = {
        "region": city,
        "preparer": User.objects.get(username="zj-finance"),
        "approver": make_user("finance", city, username="zj-finance-checker"),
        "return_file": return_file,
    }
    dibao = Enrolment.objects.filter(category="dibao", member__isnull=True).order_by("id")
    bereaved = next(e for e in dibao if e.household.members.filter(incomes=None).count() >= 2)
    failing = next(e for e in dibao if e != bereaved).household
    batches = {}
    for month in months:
        failed = {failing.pk: "户名与账号不符"} if month == months[2] else {}
        if month == months[4]:
            failing.bank_account_number = "6222020000000000014"
            failing.save()
        if month == months[8]:
            Standard.objects.create(
                region=city, component="standard", value=Decimal("900"), effective_from=months[6]
            )
        if month == months[9]:
            record_death(
                member=bereaved.household.members.filter(incomes=None).order_by("id").last(),
                died_on=datetime.date(2025, 8, 12),
                by=User.objects.get(username="zj-caseworker"),
            )
        batch, files, bank_return = _run_month(month, failed=failed, **run)
        _assert_balanced(batch, files, bank_return)
        batches[month] = batch

    assert set(PaymentLine.objects.values_list("category", flat=True)) >= {
        "dibao",
        "single_dibao",
        "tekun",
        "ill_disabled_child",
    }
    assert {line.batch.month for line in PaymentLine.objects.filter(kind="price_subsidy")} == {
        months[2]
    }
    back_pay = PaymentLine.objects.filter(kind="back_pay")
    assert back_pay.exists()
    assert set(back_pay.values_list("batch__month", "month").distinct()) <= {
        (months[8], months[6]),
        (months[8], months[7]),
    }
    assert back_pay.values("enrolment", "month").distinct().count() == back_pay.count()
    (reissue,) = PaymentLine.objects.filter(kind="reissue")
    assert (reissue.batch.month, reissue.household) == (months[4], failing)
    recovery = Recovery.objects.get(household=bereaved.household)
    assert (recovery.month, recovery.reason) == (months[8], "death")
    offsets = PaymentLine.objects.filter(kind="recovery", source_ref=recovery.source_ref)
    assert 0 < -sum(o.amount for o in offsets) <= recovery.amount

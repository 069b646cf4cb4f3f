"""Users of every role (``staff``) and a day of work for them (``workday``), arranged through
the services where they allow it.

``workday`` builds, relative to today (Asia/Shanghai), in 正东路街道 (town A) of 京口区:

* applications of the caseworker: 1 submitted (from a flag), 1 home visit (its step overdue),
  1 economic check (its step due today), 1 township review, 1 public notice, 1 waiting for
  approval, 1 approved (from a flag) and 1 refused (from a flag);
* flags of the grid worker: 1 open, 1 rejected, and the three above (being handled, enrolled,
  application refused);
* enrolments: the approved application's (review due yesterday), one stopped from next month
  and one whose review falls due on the month's last day;
* in 健康路街道 (town B, same county): an application at home visit, one waiting for approval past
  its deadline, and an open flag of that township's grid worker — none of them town A's work;
* batches of 镇江市: one computed by finance 1, one approved (finance 1 prepared, finance 2
  approved), one draft; one computed batch of 常州市 (outside Zhenjiang).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from beneficiaries.models import Household, Region, User
from casework.models import Application, CaseState, Enrolment
from casework.services import applications, enrolments, referrals
from core.months import add_months, first_of_month, month_end
from payments.batches import create_batch
from payments.models import PaymentBatch
from rules.parameters import load_standards
from tests.factories import HouseholdFactory, MemberFactory

PASSWORD = "pw-for-tests"


@dataclass
class Workday:
    today: datetime.date
    users: dict[str, User]
    applications: dict[str, Application]
    batch_total: Decimal


def _household(village: Region, name: str) -> Household:
    household = HouseholdFactory(village=village)
    household.head = MemberFactory(household=household, name=name)
    household.save()
    return household


def _applied(village: Region, name: str, by: User) -> Application:
    household = _household(village, name)
    return applications.submit_application(household=household, category="dibao", by=by)


def _through(application: Application, states, by: User) -> Application:
    for state in states:
        comment = "家庭人均收入高于低保标准" if state == CaseState.REFUSED else ""
        application = applications.move_application(
            application=application, to=state, by=by, comment=comment
        )
    return application


TO_NOTICE = (
    CaseState.HOME_VISIT,
    CaseState.ECONOMIC_CHECK,
    CaseState.TOWNSHIP_REVIEW,
    CaseState.PUBLIC_NOTICE,
)


def _to_approval(application: Application, by: User) -> Application:
    """Through the public notice, whose end is moved back a week so it has run its course."""
    application = _through(application, TO_NOTICE, by)
    Application.objects.filter(pk=application.pk).update(
        notice_ends=timezone.localdate() - datetime.timedelta(days=7)
    )
    application.refresh_from_db()
    return _through(application, [CaseState.APPROVAL], by)


def make_staff(regions: dict[str, Region]) -> dict[str, User]:
    """One user of each role (two caseworkers, grid workers and Zhenjiang finance users)."""

    def user(username, role, region_key):
        return User.objects.create_user(
            username=username,
            password=PASSWORD,
            role=role,
            region=regions[region_key],
            is_staff=True,
        )

    return {
        "caseworker": user("zhang-cw", "caseworker", "town_a"),
        "caseworker_b": user("li-cw", "caseworker", "town_b"),
        "grid": user("wang-grid", "grid_worker", "town_a"),
        "grid_b": user("zhao-grid", "grid_worker", "town_b"),
        "approver": user("chen-approver", "county_approver", "jingkou"),
        "finance": user("liu-finance", "finance", "zhenjiang"),
        "finance_2": user("sun-finance", "finance", "zhenjiang"),
        "auditor": user("zhou-auditor", "auditor", "zhenjiang"),
        "admin": user("wu-admin", "admin", "zhenjiang"),
        "finance_cz": user("cz-finance", "finance", "changzhou"),
    }


def arrange_workday(regions: dict[str, Region], users: dict[str, User]) -> Workday:
    today = timezone.localdate()
    load_standards()
    cw, grid, approver = users["caseworker"], users["grid"], users["approver"]
    a1, a2 = regions["village_a1"], regions["village_a2"]

    def flagged(name: str, village: Region):
        return referrals.flag_candidate(name=name, village=village, reason="lost_job", by=grid)

    referrals.flag_candidate(name="赵大妈", village=a1, reason="serious_illness", by=grid)
    referrals.reject_referral(referral=flagged("钱二", a2), reason="收入稳定", by=cw)

    def convert(name: str, village: Region) -> Application:
        household = _household(village, name)
        return referrals.convert_referral(
            referral=flagged(name, village), household=household, category="dibao", by=cw
        )

    apps = {"submitted": convert("孙三", a1)}
    for key, states in (
        ("home_visit", TO_NOTICE[:1]),
        ("economic_check", TO_NOTICE[:2]),
        ("township_review", TO_NOTICE[:3]),
        ("public_notice", TO_NOTICE),
    ):
        apps[key] = _through(_applied(a1, f"周{key}", cw), states, cw)
    apps["approval"] = _to_approval(_applied(a2, "吴五", cw), cw)
    apps["approved"] = _through(
        _to_approval(convert("郑六", a2), cw), [CaseState.APPROVED], approver
    )
    apps["refused"] = _through(convert("冯七", a1), [*TO_NOTICE[:3], CaseState.REFUSED], cw)
    # Deadlines: the home visit's step is three days late, the economic check's is due today.
    Application.objects.filter(pk=apps["home_visit"].pk).update(
        step_due=today - datetime.timedelta(days=3)
    )
    Application.objects.filter(pk=apps["economic_check"].pk).update(step_due=today)

    # Enrolments: the approved one's review was due yesterday; one falls due on the month's
    # last day; one is stopped from next month.
    Enrolment.objects.filter(application=apps["approved"]).update(
        next_review_due=today - datetime.timedelta(days=1)
    )
    month = first_of_month(today)
    later = enrolments.enrol(
        household=_household(a1, "陈八"),
        category="dibao",
        start_month=add_months(month, -3),
        by=cw,
        approved_by=approver,
    )
    Enrolment.objects.filter(pk=later.pk).update(next_review_due=month_end(today))
    stopped = enrolments.enrol(
        household=_household(a2, "褚九"),
        category="dibao",
        start_month=add_months(month, -3),
        by=cw,
        approved_by=approver,
    )
    enrolments.stop(
        enrolment=stopped,
        effective_month=add_months(month, 1),
        reason_code="income",
        reason_text="家庭收入超过标准",
        by=cw,
        approved_by=approver,
    )

    # Town B: not town A's work, but the county approver's.
    cw_b = users["caseworker_b"]
    b1 = regions["village_b1"]
    referrals.flag_candidate(name="卫十", village=b1, reason="disaster", by=users["grid_b"])
    _through(_applied(b1, "蒋十一", cw_b), TO_NOTICE[:1], cw_b)
    late = _to_approval(_applied(b1, "沈十二", cw_b), cw_b)
    Application.objects.filter(pk=late.pk).update(step_due=today - datetime.timedelta(days=1))

    # Batches, created by the service; their later states arranged directly.
    total = Decimal("1234567.89")
    finance, finance_2 = users["finance"], users["finance_2"]
    computed = create_batch(region=regions["zhenjiang"], month=month, by=finance)
    approved = create_batch(region=regions["zhenjiang"], month=add_months(month, -1), by=finance)
    create_batch(region=regions["zhenjiang"], month=add_months(month, 1), by=None)
    PaymentBatch.objects.filter(pk=computed.pk).update(
        status="computed", line_count=1520, total_amount=total
    )
    PaymentBatch.objects.filter(pk=approved.pk).update(
        status="approved", approved_by=finance_2, approved_at=timezone.now(), line_count=1498
    )
    outside = create_batch(region=regions["changzhou"], month=month, by=users["finance_cz"])
    PaymentBatch.objects.filter(pk=outside.pk).update(status="computed")
    return Workday(today=today, users=users, applications=apps, batch_total=total)


@pytest.fixture
def staff(regions) -> dict[str, User]:
    """The users of ``workday`` with no work: for tests about signing in and access."""
    return make_staff(regions)


@pytest.fixture
def workday(regions, staff) -> Workday:
    return arrange_workday(regions, staff)

"""After ``load_demo`` every role has a day's work: the counts of each home worklist that the
demo is there to fill are not zero."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from beneficiaries.models import User
from rules.calendar import work_calendar
from web.worklists import worklist_for

# user → the counts of their home that must not be zero
WORK = {
    "zj-caseworker": [
        "已申请",
        "入户调查",
        "经济状况核对",
        "乡镇审核",
        "公示",
        "审批",
        "已超期的办理环节",
        "已到复核日期",
        "待处理线索",
    ],
    "zj-grid": ["待处理", "已转申请", "已入户调查", "已纳入保障", "申请未获批准", "不予受理"],
    "zj-approver": ["待审批的救助申请", "其中已超期", "临时救助"],
    "zj-finance": ["已计算", "您制单、待他人审批"],
    "zj-auditor": ["新增", "增发", "减发", "停发", "恢复", "渐退"],
}


def home_counts(username: str) -> dict[str, int]:
    worklist = worklist_for(user=User.objects.get(username=username))
    return {str(c.label): c.value for section in worklist.sections for c in section.counts}


@pytest.fixture
def demo(db):
    call_command("load_seeds", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("load_demo", "--city", "3211", "--households", "8", stdout=io.StringIO())


def test_after_load_demo_each_role_has_work_on_its_home(demo):
    for username, labels in WORK.items():
        shown = home_counts(username)
        empty = [label for label in labels if not shown[label]]
        assert not empty, (username, empty)


def test_a_step_falls_due_this_week_when_a_working_day_is_left(demo):
    today = timezone.localdate()
    calendar = work_calendar(first_year=today.year, last_year=today.year + 1)
    week_left = [today + datetime.timedelta(days=n) for n in range(7 - today.weekday())]
    working_day_left = any(calendar.is_working_day(day) for day in week_left)
    assert (home_counts("zj-caseworker")["本周内到期的办理环节"] >= 1) == working_day_left


def test_a_second_finance_user_sees_the_batch_to_approve(demo):
    # zj-finance2 is one of the demo users load_seeds makes (two finance users per city).
    assert home_counts("zj-finance2")["待您审批（他人制单）"] == 1

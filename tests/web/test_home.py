"""Each role's home worklist: the right numbers, inside the user's subtree, each linked to a list
that shows exactly that number, and no link a user could not open."""

import re

from django.test import Client

from core.months import month_end
from tests.web.conftest import Workday


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counts(response) -> dict[str, tuple[int, str]]:
    """Every count on the page: label → (number, link or "")."""
    worklist = response.context["worklist"]
    return {
        str(item.label): (item.value, item.url)
        for section in worklist.sections
        for item in section.counts
    }


def numbers(response) -> dict[str, int]:
    return {label: value for label, (value, _url) in counts(response).items()}


def test_a_caseworker_sees_the_township_applications_by_step(workday: Workday):
    response = signed_in(workday.users["caseworker"]).get("/home/")
    assert response.status_code == 200
    shown = numbers(response)
    # Town B's application at home visit and its case waiting for approval are not counted.
    assert {
        k: shown[k] for k in ("已申请", "入户调查", "经济状况核对", "乡镇审核", "公示", "审批")
    } == {
        "已申请": 1,
        "入户调查": 1,
        "经济状况核对": 1,
        "乡镇审核": 1,
        "公示": 1,
        "审批": 1,
    }


def test_a_caseworker_sees_deadlines_reviews_and_flags_to_handle(workday: Workday):
    shown = numbers(signed_in(workday.users["caseworker"]).get("/home/"))
    review_due_on_month_end_is_today = month_end(workday.today) == workday.today
    assert shown["本周内到期的办理环节"] == 1
    assert shown["已超期的办理环节"] == 1  # town B's late case is not this township's
    assert shown["已到复核日期"] == 1 + review_due_on_month_end_is_today
    assert shown["本月底前到期（含已到期）"] == 2
    assert shown["待处理线索"] == 1  # town B's open flag is not counted


def test_a_grid_worker_sees_what_became_of_each_flag(workday: Workday):
    response = signed_in(workday.users["grid"]).get("/home/")
    assert numbers(response) == {
        "待处理": 1,
        "已转申请": 1,
        "已纳入保障": 1,
        "申请未获批准": 1,
        "不予受理": 1,
    }
    page = response.content.decode()
    for name in ("赵大妈", "钱二", "孙三", "郑六", "冯七"):
        assert name in page
    assert "卫十" not in page  # town B's grid worker's flag


def test_a_county_approver_sees_the_cases_of_the_county_waiting_for_approval(workday: Workday):
    shown = numbers(signed_in(workday.users["approver"]).get("/home/"))
    assert shown["待审批的救助申请"] == 2
    assert shown["其中已超期"] == 1


def test_finance_sees_batches_by_status_and_who_may_sign_second(workday: Workday):
    preparer = signed_in(workday.users["finance"]).get("/home/")
    other = signed_in(workday.users["finance_2"]).get("/home/")
    assert numbers(preparer)["已计算"] == 1  # Changzhou's computed batch is not Zhenjiang's
    assert numbers(preparer)["已审批"] == 1
    assert numbers(preparer)["草稿"] == 1
    assert (numbers(preparer)["您制单、待他人审批"], numbers(preparer)["待您审批（他人制单）"]) == (
        1,
        0,
    )
    assert (numbers(other)["您制单、待他人审批"], numbers(other)["待您审批（他人制单）"]) == (0, 1)
    assert "1,234,567.89" in preparer.content.decode()


def test_an_auditor_sees_the_adjustments_registered_lately_by_kind(workday: Workday):
    response = signed_in(workday.users["auditor"]).get("/home/")
    shown = numbers(response)
    # Three enrolments (the approved application's and two entered directly) and one stop.
    assert (shown["新增"], shown["停发"], shown["增发"]) == (3, 1, 0)
    chart = response.context["worklist"].chart
    assert not chart.empty
    assert sum(sum(series["data"]) for series in chart.option["series"]) == 4


def listed_count(response) -> int:
    """How many rows a list holds: a page's list says it in its context, the API's in its body."""
    if response["Content-Type"].startswith("text/html"):
        return response.context["count"]
    return response.json()["count"]


ROLES = ("caseworker", "grid", "approver", "finance", "finance_2", "auditor", "admin")


def test_each_link_opens_for_its_user_and_a_count_lists_exactly_that_many(workday: Workday):
    for role in ROLES:
        client = signed_in(workday.users[role])
        response = client.get("/home/")
        for label, (value, url) in counts(response).items():
            if url:
                listed = client.get(url, HTTP_ACCEPT="application/json")
                assert listed.status_code == 200, (role, label, url)
                assert listed_count(listed) == value, (role, label, url)
        links = set(re.findall(r'<a [^>]*href="([^"#]+)"', response.content.decode()))
        assert links, role
        for url in links:
            assert client.get(url.replace("&amp;", "&")).status_code == 200, (role, url)

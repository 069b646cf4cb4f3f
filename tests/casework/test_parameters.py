"""Casework's own parameters are registered: entered through the API, the admin and the seeds,
documented, and in force for the cases they govern."""

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from casework.models import CaseState
from casework.parameters import COMPONENTS
from casework.services import applications
from rules.models import Standard
from rules.parameters import CATALOGUE, load_standards, resolve_parameters

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
# A Monday, with no public holiday in the following weeks.
MONDAY = datetime.datetime(2025, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def administrator(regions, make_user):
    return make_user("admin", regions["zhenjiang"], username="zj-admin")


def set_through_api(user, component, value, effective_from="2025-01-01"):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        "/api/standards/",
        {
            "region": "321100000000",
            "component": component,
            "value": value,
            "effective_from": effective_from,
            "note": "镇江市民政局通知",
        },
        format="json",
    )


def walk_to_notice(application, caseworker):
    for target in ("home_visit", "economic_check", "township_review", "public_notice"):
        applications.move_application(application=application, to=target, by=caseworker)
    application.refresh_from_db()
    return application


def test_every_casework_component_is_in_the_catalogue_and_the_docs():
    text = (Path(settings.BASE_DIR) / "docs" / "parameters.md").read_text(encoding="utf-8")
    for component in COMPONENTS:
        assert CATALOGUE[component.name] == component
        assert f"| `{component.name}` | {component.label} |" in text


@time_machine.travel(MONDAY, tick=False)
def test_a_notice_period_set_through_the_api_moves_the_notice_end(
    administrator, caseworker, household, family
):
    response = set_through_api(administrator, "casework.notice_days", "10")
    assert response.status_code == 201, response.data
    assert response.data["label"] == "公示天数"
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    walk_to_notice(application, caseworker)
    assert application.state == CaseState.PUBLIC_NOTICE
    # Ten working days from Monday 3 March 2025 (seven by default: 12 March).
    assert application.notice_ends == datetime.date(2025, 3, 17)


@time_machine.travel(MONDAY, tick=False)
def test_township_approval_delegated_through_the_api_lets_the_township_approve(
    administrator, caseworker, household, family
):
    assert set_through_api(administrator, "casework.township_approves", "1").status_code == 201
    application = applications.submit_application(
        household=household, category="dibao", by=caseworker
    )
    walk_to_notice(application, caseworker)
    with time_machine.travel(datetime.datetime(2025, 4, 1, 10, 0, tzinfo=SHANGHAI)):
        applications.move_application(application=application, to="approval", by=caseworker)
        applications.move_application(application=application, to="approved", by=caseworker)
    application.refresh_from_db()
    assert application.state == CaseState.APPROVED


@pytest.mark.parametrize(
    "component, value, message",
    [
        ("casework.notice_days", "7.5", "该项目须为整数"),
        ("casework.notice_days", "0", "该项目不能小于1"),
        ("casework.review_months.stable", "0", "该项目不能小于1"),
        ("casework.decision_working_days", "251", "该项目不能大于250"),
        ("casework.review_months.other", "61", "该项目不能大于60"),
        ("casework.township_approves", "2", "该项目只能为0或1"),
    ],
)
def test_a_casework_value_that_makes_no_sense_is_refused(administrator, component, value, message):
    response = set_through_api(administrator, component, value)
    assert response.status_code == 400
    assert response.data == {"value": [message]}
    assert not Standard.objects.filter(component=component).exists()


def test_load_seeds_accepts_casework_components(regions, tmp_path):
    seed = {
        "regions": {"321100000000": {"name": "镇江市", "level": "city", "parent": "320000000000"}},
        "standards": [
            {
                "region": "321100000000",
                "effective_from": "2025-01-01",
                "note": "镇江: 公示5个工作日",
                "values": {"casework.notice_days": "5", "casework.review_months.other": "3"},
            }
        ],
    }
    path = tmp_path / "standards.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    assert load_standards(path) == 2
    params = resolve_parameters(region_code="321102001001", month=datetime.date(2025, 2, 1))
    assert params.value("casework.notice_days") == Decimal("5")
    assert params.value("casework.review_months.other") == Decimal("3")


def test_the_admin_enters_a_casework_parameter(client, regions, make_user):
    client.force_login(make_user("admin", regions["jiangsu"], is_staff=True))
    form = client.get("/admin/rules/standard/add/")
    assert "casework.decision_working_days" in form.content.decode()
    response = client.post(
        "/admin/rules/standard/add/",
        {
            "region": regions["zhenjiang"].pk,
            "category": "",
            "component": "casework.decision_working_days",
            "value": "20",
            "effective_from": "2025-01-01",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert Standard.objects.get(component="casework.decision_working_days").value == 20

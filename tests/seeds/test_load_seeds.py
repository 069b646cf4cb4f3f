import datetime
import io

import pytest
from django.core.management import call_command

from beneficiaries.models import Region, User
from rules.models import Standard
from seeds.demo_users import DEMO_PASSWORD, DEMO_USERS
from seeds.regions import city_standard, load_regions

ZHENJIANG_COUNTIES = {"321102", "321111", "321112", "321181", "321182", "321183"}
CHANGZHOU_COUNTIES = {"320402", "320404", "320411", "320412", "320413", "320481"}


def run(command: str, *args, **options) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=out, **options)
    return out.getvalue()


def snapshot() -> tuple:
    return (
        list(Region.objects.values_list("id", "code", "name", "level", "parent_id")),
        list(User.objects.values_list("id", "username", "password", "role", "region_id")),
        list(Standard.objects.values_list("id", "region_id", "component", "category", "value")),
    )


def test_regions_seed_the_real_districts_and_county_level_cities(db):
    load_regions()
    counties = Region.objects.filter(level="county")
    by_city = {code[:4]: set() for code in ("3211", "3204")}
    for county in counties:
        by_city[county.code[:4]].add(county.code[:6])
    assert by_city == {"3211": ZHENJIANG_COUNTIES, "3204": CHANGZHOU_COUNTIES}
    assert Region.objects.get(code="321181000000").name == "丹阳市"
    assert Region.objects.get(code="320413000000").name == "金坛区"


def test_every_region_code_extends_its_parents_prefix(db):
    load_regions()
    for region in Region.objects.select_related("parent"):
        assert len(region.code) == 12 and region.code.isdigit()
        assert region.code[len(region.prefix) :] == "0" * (12 - len(region.prefix))
        if region.parent is not None:
            assert region.code.startswith(region.parent.prefix)
            assert len(region.prefix) > len(region.parent.prefix)


def test_each_county_has_townships_with_villages(db):
    load_regions()
    for county in Region.objects.filter(level="county"):
        townships = list(county.children.all())
        assert 2 <= len(townships) <= 3
        for township in townships:
            assert township.level == "township"
            assert 2 <= township.children.filter(level="village").count() <= 3


def test_load_seeds_creates_one_user_per_role_per_demo_city(db):
    run("load_seeds")
    users = {u.username: u for u in User.objects.select_related("region")}
    assert set(users) == {spec.username for spec in DEMO_USERS}
    for city in ("zj", "cz"):
        roles = {u.role: u.region.level for name, u in users.items() if name.startswith(city)}
        assert roles == {
            "caseworker": "township",
            "grid_worker": "township",
            "county_approver": "county",
            "finance": "city",
            "auditor": "city",
        }
    assert users["js-admin"].role == "admin" and users["js-admin"].region.level == "province"
    assert users["zj-caseworker"].check_password(DEMO_PASSWORD)


def test_running_load_seeds_twice_changes_nothing(db):
    run("load_seeds")
    before = snapshot()
    output = run("load_seeds")
    assert snapshot() == before
    assert "regions written: 0" in output and "demo users created: 0" in output
    assert "standards created: 0" in output


def test_load_seeds_loads_the_city_standards_of_the_domain(db):
    run("load_seeds")
    assert city_standard("3211", datetime.date(2024, 6, 1)) == 840
    assert city_standard("3211", datetime.date(2024, 8, 1)) == 875
    assert city_standard("3204", datetime.date(2024, 8, 1)) == 1020


def test_load_seeds_refuses_demo_users_on_a_real_deployment(db, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("DATABASE_URL", "postgres://somewhere/doudi")
    output = run("load_seeds")
    assert not User.objects.exists()
    assert Region.objects.filter(code="321100000000").exists()
    assert "--demo-users" in output


def test_load_seeds_creates_demo_users_on_a_real_deployment_when_asked(db, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("DATABASE_URL", "postgres://somewhere/doudi")
    run("load_seeds", "--demo-users")
    assert User.objects.count() == len(DEMO_USERS)


@pytest.mark.parametrize("loaded", [True, False])
def test_demo_logins_prints_the_demo_users_it_finds(db, loaded):
    if loaded:
        run("load_seeds")
    output = run("demo_logins")
    assert ("zj-caseworker" in output) is loaded
    # Two finance users per city: one prepares the month's batch, the other approves it.
    assert ("zj-finance2" in output and "cz-finance2" in output) is loaded
    assert (DEMO_PASSWORD in output) is loaded

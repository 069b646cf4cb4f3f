def test_the_schema_lists_the_api(client, regions, make_user):
    client.force_login(make_user("caseworker", regions["town_a"]))
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_factories_build_a_household_with_a_valid_member(regions):
    from core.idnumbers import parse_resident_id
    from tests.factories import HouseholdFactory, MemberFactory

    household = HouseholdFactory(village=regions["village_a1"])
    member = MemberFactory(household=household)
    assert household.region_code == "321102001001"
    assert parse_resident_id(member.id_number).birth_date == member.birth_date


def test_the_openapi_schema_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    # A warning means a wrong schema: colliding component or enum names, an untyped path.
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")

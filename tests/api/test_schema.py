"""The OpenAPI schema describes what the API answers: enums, formats, nullability,
inputs, and the error bodies of every operation."""

import pytest
from rest_framework.test import APIClient

from beneficiaries.models import User

WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        client = APIClient()
        client.force_authenticate(User(username="schema-reader", role="auditor"))
        response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_a_blank_care_level_is_in_its_enum(schema):
    care_level = schema["components"]["schemas"]["Application"]["properties"]["care_level"]
    values = [v for option in care_level["oneOf"] for v in resolve(schema, option)["enum"]]
    assert "" in values


def test_months_are_strings_of_year_and_month_not_dates(schema):
    month = schema["components"]["schemas"]["Batch"]["properties"]["month"]
    assert month.get("format") != "date"
    assert month["pattern"] == "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"


def test_names_that_may_be_missing_are_nullable(schema):
    adjustment = schema["components"]["schemas"]["Adjustment"]["properties"]
    assert adjustment["approved_by"]["nullable"] is True
    assert schema["components"]["schemas"]["StandardOutput"]["properties"]["created_by"]["nullable"]


def test_creating_a_batch_asks_for_region_and_month_only(schema):
    body = schema["paths"]["/api/batches/"]["post"]["requestBody"]["content"]["application/json"]
    request = resolve(schema, body["schema"])
    assert sorted(request["required"]) == ["month", "region"]
    assert sorted(request["properties"]) == ["month", "region"]


def test_no_request_body_requires_a_read_only_field(schema):
    found = []
    for path, method, operation in operations(schema):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            body = resolve(schema, media["schema"])
            for name in body.get("required", []):
                if body["properties"].get(name, {}).get("readOnly"):
                    found.append(f"{method.upper()} {path}: {name}")
    assert found == []


def test_every_operation_documents_its_error_bodies(schema):
    missing = []
    for path, method, operation in operations(schema):
        expected = {"400", "401", "403", "404"} | ({"409"} if method in WRITES else set())
        for status in sorted(expected - set(operation["responses"])):
            missing.append(f"{method.upper()} {path} {status}")
        for status in expected & set(operation["responses"]):
            assert "application/json" in operation["responses"][status]["content"]
    assert missing == []


def test_ids_in_paths_are_digits(schema):
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] in ("id", "household_id"):
                kind = parameter["schema"]
                assert kind["type"] == "integer" or kind["pattern"] == "^[0-9]+$", path

"""Migration 0009: explanations keep the canonical text they were digested from, and back."""

import hashlib
import json

import pgtrigger
import pytest

from tests.db import as_owner, latest_migrations, migrate_to

BEFORE = [("payments", "0008_line_references_enrolment_and_household_together")]
AFTER = [("payments", "0009_explanations_kept_as_their_digested_text")]

STEPS = [
    {
        "rule": "差额补助",
        "formula": "875 − 300 = 575",
        "inputs": {"低保标准": "875"},
        "result": "575",
    },
    {"rule": 'a\\b "quoted"', "formula": "", "inputs": {}, "result": "1"},
]
VERSIONS = {"standard": 46, "rounding_mode": 4}


def canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def migrate(targets):
    """Migrate to ``targets`` and give the apps of that state."""
    return migrate_to(targets).loader.project_state(targets).apps


@pytest.fixture
def at_0008():
    apps = migrate(BEFORE)
    yield apps
    migrate_to(latest_migrations())


@pytest.mark.django_db(transaction=True)
def test_an_explanation_keeps_the_text_its_digest_is_taken_of_and_gets_its_json_back(at_0008):
    text = canonical({"steps": STEPS, "versions": VERSIONS})
    digest = hashlib.sha256(text.encode()).hexdigest()
    at_0008.get_model("payments", "PaymentExplanation").objects.create(
        digest=digest, steps=STEPS, versions=VERSIONS
    )

    apps = migrate(AFTER)
    stored = apps.get_model("payments", "PaymentExplanation").objects.get()
    assert (stored.digest, stored.text) == (digest, text)

    apps = migrate(BEFORE)
    back = apps.get_model("payments", "PaymentExplanation").objects.get()
    assert (back.digest, back.steps, back.versions) == (digest, STEPS, VERSIONS)


@pytest.mark.django_db(transaction=True)
def test_an_explanation_changed_behind_the_application_stops_the_migration(at_0008):
    model = at_0008.get_model("payments", "PaymentExplanation")
    text = canonical({"steps": STEPS, "versions": VERSIONS})
    digest = hashlib.sha256(text.encode()).hexdigest()
    model.objects.create(digest=digest, steps=STEPS, versions=VERSIONS)
    with as_owner(), pgtrigger.ignore("payments.PaymentExplanation:explanation_written_once"):
        model.objects.filter(digest=digest).update(versions={"standard": 47})

    with pytest.raises(RuntimeError, match=f"explanation {digest} does not hash to its digest"):
        migrate(AFTER)

    assert model.objects.get().versions == {"standard": 47}  # still at 0008, nothing lost
    with as_owner(), pgtrigger.ignore("payments.PaymentExplanation:explanation_written_once"):
        model.objects.all().delete()  # so that the fixture can migrate forward again

"""payments.explanations: an explanation's text and digest, storing it with its lines, and
reading it back in words, including those stored before steps had codes."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from payments.explanations import canonical_json, create_lines, digest_of, make
from payments.models import PaymentExplanation, PaymentLine
from rules.models import Standard
from rules.parameters import load_standards
from tests.factories import EnrolmentFactory, HouseholdFactory

pytestmark = pytest.mark.django_db

# An explanation as the code of November 2026 stored it: rule, formula and inputs as Chinese
# text, inputs sorted by name, versions naming every parameter the rule read.
WRITTEN_STEPS = [
    {
        "formula": "875 − 300 = 575",
        "inputs": {"人均月收入": "300", "低保标准": "875"},
        "result": "575",
        "rule": "差额补助：低保标准 − 人均月收入，不低于0",
    },
    {
        "formula": "575 × 3 = 1725",
        "inputs": {"保障人数": "3", "每人金额": "575"},
        "result": "1725",
        "rule": "家庭月保障金 = 每人金额 × 保障人数",
    },
]


@pytest.fixture
def line(regions, make_batch):
    """August's batch and a Zhenjiang household to pay."""
    load_standards()
    return make_batch(datetime.date(2024, 8, 1)), HouseholdFactory(village=regions["village_a1"])


def a_line(batch, household, explanation: PaymentExplanation, amount="1725") -> PaymentLine:
    return PaymentLine(
        batch=batch,
        month=batch.month,
        kind="regular",
        enrolment=EnrolmentFactory(household=household),
        household=household,
        region_code=household.region_code,
        amount=Decimal(amount),
        explanation_ref=explanation,
    )


def test_an_explanation_is_its_canonical_text_keyed_by_its_sha256():
    steps = [("gap", (Decimal("875"), Decimal("300")), Decimal("575"))]
    explanation = make(steps, {"standard": 46})
    expected = canonical_json(
        {"steps": [{"result": "575", "step": "gap", "values": ["875", "300"]}],
         "versions": {"standard": 46}}
    )  # fmt: skip
    assert explanation.text == expected
    assert explanation.digest == digest_of(expected)
    assert (explanation.steps, explanation.versions) == (
        [{"result": "575", "step": "gap", "values": ["875", "300"]}],
        {"standard": 46},
    )


@pytest.mark.postgres  # where the database checks a line's explanation exists
def test_saving_a_line_stores_nothing_else(line):
    batch, household = line
    unsaved = a_line(batch, household, make([("not_paid", (), 0)]))

    with pytest.raises(IntegrityError), transaction.atomic():
        unsaved.save()  # its explanation is not stored by save(): create_lines does that

    assert not PaymentExplanation.objects.exists()
    (created,) = create_lines([unsaved])
    assert PaymentExplanation.objects.get().digest == created.explanation_ref_id


def test_a_line_stored_before_steps_had_codes_still_reads_with_its_parameters_dated(
    line, client, make_user, regions
):
    batch, household = line
    standard = Standard.objects.get(region__code="321100000000", component="standard", value=875)
    written = PaymentExplanation(
        digest="",
        text=canonical_json({"steps": WRITTEN_STEPS, "versions": {"standard": standard.pk}}),
    )
    written.digest = digest_of(written.text)
    (paid,) = create_lines([a_line(batch, household, written)])
    client.force_login(make_user("auditor", regions["zhenjiang"]))

    shown = client.get(f"/api/payment-lines/{paid.pk}/").json()["explanation"]

    assert paid.explanation_ref_id == digest_of(PaymentExplanation.objects.get().text)
    assert [s["rule"] for s in shown["steps"]] == [s["rule"] for s in WRITTEN_STEPS]
    assert [(i["name"], i["value"]) for i in shown["steps"][0]["inputs"]] == [
        ("低保标准", "875"),
        ("人均月收入", "300"),
    ]
    assert shown["text"].endswith("所用参数：低保标准 875 元（2024-07-01 起）")


def test_a_page_of_lines_reads_the_standard_rows_of_all_their_explanations_at_once(
    line, client, make_user, regions, django_assert_max_num_queries
):
    batch, household = line
    standard = Standard.objects.get(region__code="321100000000", component="standard", value=875)
    create_lines(
        a_line(
            batch,
            HouseholdFactory(village=regions["village_a1"]),
            make([("gap", (875, n), 875 - n)], {"standard": standard.pk}),
        )
        for n in range(20)
    )
    client.force_login(make_user("auditor", regions["zhenjiang"]))

    with django_assert_max_num_queries(12):
        page = client.get("/api/payment-lines/", {"batch": batch.pk}).json()

    assert page["count"] == 20
    assert {r["explanation"]["parameters"][0]["text"] for r in page["results"]} == {
        "低保标准 875 元（2024-07-01 起）"
    }

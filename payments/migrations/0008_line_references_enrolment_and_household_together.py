"""The insert check of payment lines probes the enrolment and its household together.

A line with an enrolment must name that enrolment's own household: one probe of the enrolment
(id and household_id) checks both, and the household exists because the enrolment's foreign key
says so. Only lines without an enrolment (relief instalments, re-issues) probe households. Half
the probes of migration 0006's check, and a stronger one: a line can no longer pair an
enrolment with another household.
"""

import importlib

from django.db import migrations

CHECK = """
CREATE OR REPLACE FUNCTION payments_line_references_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE missing text;
BEGIN
    SELECT n.batch_id::text INTO missing FROM (SELECT DISTINCT batch_id FROM new_lines) n
    WHERE NOT EXISTS (SELECT 1 FROM payments_paymentbatch r WHERE r.id = n.batch_id) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'payment line references a missing batch: ' || missing;
    END IF;
    SELECT n.enrolment_id::text INTO missing FROM new_lines n
    WHERE n.enrolment_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM casework_enrolment r
        WHERE r.id = n.enrolment_id AND r.household_id = n.household_id) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'payment line references a missing enrolment, or one of another '
                      'household: ' || missing;
    END IF;
    SELECT n.household_id::text INTO missing
    FROM (SELECT DISTINCT household_id FROM new_lines WHERE enrolment_id IS NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM beneficiaries_household r WHERE r.id = n.household_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'payment line references a missing household: ' || missing;
    END IF;
    SELECT n.explanation_ref_id INTO missing
    FROM (SELECT DISTINCT explanation_ref_id FROM new_lines) n
    WHERE NOT EXISTS (
        SELECT 1 FROM payments_paymentexplanation r WHERE r.digest = n.explanation_ref_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'payment line references a missing explanation: ' || missing;
    END IF;
    RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECK, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = importlib.import_module(
            "payments.migrations.0006_line_references_checked_per_statement"
        )
        schema_editor.execute(previous.CHECK_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_versions_in_explanations"),
    ]

    operations = [migrations.RunPython(forward, backward)]

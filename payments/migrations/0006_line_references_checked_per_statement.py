"""Payment lines' four references checked once per statement instead of row by row.

PostgreSQL's foreign keys run one lookup and one row lock per reference per inserted line: for a
chunk of 25,000 lines they took 0.7 s, more than the COPY of the lines itself. They are replaced
by (see docs/payroll.md):

- on insert into payments_paymentline, one set-based check per statement that every batch,
  enrolment, household and explanation referenced exists (foreign_key_violation otherwise);
- on delete from payments_paymentbatch, casework_enrolment and beneficiaries_household, a guard
  that refuses to delete a row some line references. It first takes a SHARE lock on the lines, so
  it waits for transactions still writing lines and none starts until it ends: a delete and a
  line written at the same time cannot both succeed;
- explanations can no longer be deleted at all (trigger explanation_written_once).

A line's references never change afterwards (trigger line_payment_written_once).
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


LINE_REFERENCES = [
    # (column of payments_paymentline, referenced table, its key, what to call it)
    ("batch_id", "payments_paymentbatch", "id", "batch"),
    ("enrolment_id", "casework_enrolment", "id", "enrolment"),
    ("household_id", "beneficiaries_household", "id", "household"),
    ("explanation_ref_id", "payments_paymentexplanation", "digest", "explanation"),
]

CHECKS = "\n".join(
    f"""
    SELECT n.ref::text INTO missing FROM (SELECT DISTINCT {column} AS ref FROM new_lines
                                          WHERE {column} IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.{key} = n.ref) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = 'payment line references a missing {name}: ' || missing;
    END IF;"""
    for column, table, key, name in LINE_REFERENCES
)

# The insert check's function (migration 0008 replaces it, and restores it going backwards).
CHECK_FUNCTION = f"""
CREATE OR REPLACE FUNCTION payments_line_references_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE missing text;
BEGIN
{CHECKS}
    RETURN NULL;
END $$;
"""

FORWARD = (
    CHECK_FUNCTION
    + """
CREATE TRIGGER payments_line_references_exist
    AFTER INSERT ON payments_paymentline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payments_line_references_exist();

CREATE FUNCTION payments_keep_referenced_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE referenced bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gone) THEN
        RETURN NULL;
    END IF;
    LOCK TABLE payments_paymentline IN SHARE MODE;
    EXECUTE format(
        'SELECT g.id FROM gone g WHERE EXISTS '
        '(SELECT 1 FROM payments_paymentline l WHERE l.%I = g.id) LIMIT 1',
        TG_ARGV[0]
    ) INTO referenced;
    IF referenced IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('%s %s is referenced by payment lines', TG_TABLE_NAME, referenced);
    END IF;
    RETURN NULL;
END $$;
"""
    + "".join(
        f"""
CREATE TRIGGER payments_lines_keep_{name}
    AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION payments_keep_referenced_rows('{column}');
"""
        for column, table, key, name in LINE_REFERENCES
        if name != "explanation"
    )
)

BACKWARD = (
    "".join(
        f"DROP TRIGGER payments_lines_keep_{name} ON {table};\n"
        for column, table, key, name in LINE_REFERENCES
        if name != "explanation"
    )
    + """
DROP FUNCTION payments_keep_referenced_rows();
DROP TRIGGER payments_line_references_exist ON payments_paymentline;
DROP FUNCTION payments_line_references_exist();
"""
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0002_member_id_number_index"),
        ("casework", "0004_alter_reliefcase_cause_alter_reliefcaseevent_cause"),
        ("payments", "0005_explanations_stored_once"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="paymentexplanation",
            name="explanation_written_once",
        ),
        migrations.AlterField(
            model_name="paymentline",
            name="batch",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="payments.paymentbatch",
            ),
        ),
        migrations.AlterField(
            model_name="paymentline",
            name="enrolment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payment_lines",
                to="casework.enrolment",
            ),
        ),
        migrations.AlterField(
            model_name="paymentline",
            name="explanation_ref",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="payments.paymentexplanation",
                verbose_name="计算说明",
            ),
        ),
        migrations.AlterField(
            model_name="paymentline",
            name="household",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payment_lines",
                to="beneficiaries.household",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="paymentexplanation",
            trigger=pgtrigger.compiler.Trigger(
                name="explanation_written_once",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="d00a9f7f15c1412db4e499a45b9cbe4a9a1a3a79",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_explanation_written_once_f8637",
                    table="payments_paymentexplanation",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.RunPython(forward, backward),
    ]

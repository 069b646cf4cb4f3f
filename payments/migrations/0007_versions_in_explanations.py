"""Parameter versions move from every payment line into the explanation the line points to.

A line carried its Standard ids as ~300 bytes of ``jsonb``: parsing them was half the cost of
the COPY of a chunk's lines. They repeat as much as the steps do, so an explanation is now the
steps and the versions together, digested together (see PaymentExplanation); a line keeps one
reference, and ``line.parameter_versions`` reads it from the explanation.

Existing lines: each distinct (explanation, versions) pair becomes one new explanation, the lines
are pointed to it (the write-once triggers are lifted for this), and the old explanations, which
no line uses any more, are removed.
"""

import hashlib
import json

import pgtrigger
from django.db import migrations, models

BATCH = 1000


def canonical_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def regroup(apps, schema_editor):
    line_model = apps.get_model("payments", "PaymentLine")
    explanation_model = apps.get_model("payments", "PaymentExplanation")
    pairs = list(
        line_model.objects.order_by()
        .values_list("explanation_ref_id", "parameter_versions")
        .distinct()
    )
    if not pairs:
        return
    olds = sorted({old for old, _ in pairs})
    steps_of = {}
    for start in range(0, len(olds), BATCH):
        steps_of.update(
            explanation_model.objects.filter(digest__in=olds[start : start + BATCH]).values_list(
                "digest", "steps"
            )
        )
    mapping = []
    new = {}
    for old, versions in pairs:
        steps = steps_of[old]
        text = canonical_json({"steps": steps, "versions": versions})
        digest = hashlib.sha256(text.encode()).hexdigest()
        mapping.append({"old": old, "versions": versions, "new": digest})
        new[digest] = explanation_model(digest=digest, steps=steps, versions=versions)
    ignore = pgtrigger.ignore(
        "payments.PaymentLine:line_payment_written_once",
        "payments.PaymentExplanation:explanation_written_once",
    )
    with ignore:
        explanation_model.objects.bulk_create(
            new.values(), ignore_conflicts=True, batch_size=BATCH
        )
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE explanation_regroup ON COMMIT DROP AS "
                    "SELECT * FROM jsonb_to_recordset(%s::jsonb) "
                    "AS r(old varchar(64), versions jsonb, new varchar(64))",
                    [json.dumps(mapping)],
                )
                cursor.execute(
                    "UPDATE payments_paymentline l SET explanation_ref_id = r.new "
                    "FROM explanation_regroup r "
                    "WHERE l.explanation_ref_id = r.old AND l.parameter_versions = r.versions"
                )
        else:
            for pair in mapping:
                line_model.objects.filter(
                    explanation_ref_id=pair["old"], parameter_versions=pair["versions"]
                ).update(explanation_ref_id=pair["new"])
        unused = sorted(
            set(explanation_model.objects.values_list("digest", flat=True)) - set(new)
        )
        for start in range(0, len(unused), BATCH):
            explanation_model.objects.filter(digest__in=unused[start : start + BATCH]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_line_references_checked_per_statement"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentexplanation",
            name="versions",
            field=models.JSONField(default=dict, verbose_name="参数版本"),
        ),
        migrations.RunPython(regroup, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="paymentline",
            name="parameter_versions",
        ),
    ]

"""Parameter versions move from every payment line into the explanation the line points to.

A line carried its Standard ids as ~300 bytes of ``jsonb``: parsing them was half the cost of
the COPY of a chunk's lines. They repeat as much as the steps do, so an explanation is now the
steps and the versions together, digested together (see PaymentExplanation); a line keeps one
reference, and ``line.parameter_versions`` reads it from the explanation.

Existing lines: each distinct (explanation, versions) pair becomes one new explanation, the lines
are pointed to it (the write-once triggers are lifted for this), and the old explanations, which
no line uses any more, are removed. Backwards, the lines get their versions back.
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
        digests = sorted(new)
        existing = set()
        for start in range(0, len(digests), BATCH):
            existing.update(
                explanation_model.objects.filter(
                    digest__in=digests[start : start + BATCH]
                ).values_list("digest", flat=True)
            )
        explanation_model.objects.bulk_create(
            [new[digest] for digest in digests if digest not in existing], batch_size=BATCH
        )
        # Already there (migrated backwards and forwards again): the row lost its versions
        # when the column was dropped; its digest says which they are.
        for digest in existing:
            explanation_model.objects.filter(digest=digest).update(versions=new[digest].versions)
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


def copy_back(apps, schema_editor):
    """Backwards: each line gets its explanation's versions again (the explanations keep their
    combined digests; the earlier code would store its own alongside)."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE payments_paymentline l SET parameter_versions = e.versions "
                "FROM payments_paymentexplanation e WHERE e.digest = l.explanation_ref_id"
            )
        return
    line_model = apps.get_model("payments", "PaymentLine")
    explanation_model = apps.get_model("payments", "PaymentExplanation")
    for digest, versions in explanation_model.objects.values_list("digest", "versions"):
        line_model.objects.filter(explanation_ref_id=digest).update(parameter_versions=versions)


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
        migrations.RunPython(regroup, copy_back),
        migrations.RemoveField(
            model_name="paymentline",
            name="parameter_versions",
        ),
    ]

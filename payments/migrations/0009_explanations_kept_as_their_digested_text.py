"""An explanation keeps the canonical JSON text it was digested from, instead of two ``jsonb``.

Inserting an explanation parsed its ~2 KB of JSON into ``jsonb``: ten times the cost of storing
the text, and the larger part of a batch's writes in a month where every explanation is new (a
new standard, a new caseload). The text is what the digest is the SHA-256 of, so it also makes
each row checkable by itself. ``steps`` and ``versions`` are read from it (PaymentExplanation).

Existing rows: their text is rebuilt from the two ``jsonb`` columns and must hash to their
digest; a row that does not is reported and the migration stops (explanations are write-once:
such a row was changed outside the application). Backwards, the columns are parsed back.

The digest's ``varchar_pattern_ops`` index, which Django adds to a text primary key for LIKE
queries, goes too: digests are only ever looked up whole, and it was a second index per insert.
"""

import hashlib
import json

import pgtrigger
from django.db import migrations, models

BATCH = 2000
LIKE_INDEX = "payments_paymentexplanation_digest_9ca90633_like"


def canonical_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _batches(model, fields):
    """Rows in digest order, BATCH at a time (keyset: the table may hold millions)."""
    last = ""
    while True:
        rows = list(
            model.objects.filter(digest__gt=last).order_by("digest").values_list(*fields)[:BATCH]
        )
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _ignore_write_once():
    return pgtrigger.ignore("payments.PaymentExplanation:explanation_written_once")


def to_text(apps, schema_editor):
    model = apps.get_model("payments", "PaymentExplanation")
    with _ignore_write_once():
        for rows in _batches(model, ("digest", "steps", "versions")):
            texts = {}
            for digest, steps, versions in rows:
                text = f'{{"steps":{canonical_json(steps)},"versions":{canonical_json(versions)}}}'
                if hashlib.sha256(text.encode()).hexdigest() != digest:
                    raise RuntimeError(
                        f"explanation {digest} does not hash to its digest: it was changed "
                        "outside the application; restore it before migrating"
                    )
                texts[digest] = text
            _update(model, schema_editor, "text", texts)


def to_json(apps, schema_editor):
    model = apps.get_model("payments", "PaymentExplanation")
    with _ignore_write_once():
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {model._meta.db_table} SET steps = (text::jsonb) -> 'steps', "
                    "versions = (text::jsonb) -> 'versions'"
                )
            return
        for rows in _batches(model, ("digest", "text")):
            for digest, text in rows:
                content = json.loads(text)
                model.objects.filter(digest=digest).update(
                    steps=content["steps"], versions=content["versions"]
                )


def _update(model, schema_editor, column, values: dict) -> None:
    if schema_editor.connection.vendor != "postgresql":
        for digest, value in values.items():
            model.objects.filter(digest=digest).update(**{column: value})
        return
    # PostgreSQL: the batch is copied into a scratch table and set by one UPDATE.
    table = model._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS explanation_fill (digest text, value text)")
        cursor.execute("TRUNCATE explanation_fill")
        with cursor.cursor.copy("COPY explanation_fill (digest, value) FROM STDIN") as copy:
            for digest, value in values.items():
                copy.write_row((digest, value))
        cursor.execute(
            f"UPDATE {table} e SET {column} = f.value FROM explanation_fill f "
            "WHERE e.digest = f.digest"
        )


def drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


def create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX} "
            "ON payments_paymentexplanation (digest varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_line_references_enrolment_and_household_together"),
    ]

    operations = [
        # Defaults, so that going backwards can add the JSON columns to a table with rows.
        migrations.AlterField(
            model_name="paymentexplanation",
            name="steps",
            field=models.JSONField(default=list, verbose_name="计算说明"),
        ),
        migrations.AddField(
            model_name="paymentexplanation",
            name="text",
            field=models.TextField(default="", verbose_name="计算说明"),
            preserve_default=False,
        ),
        migrations.RunPython(to_text, to_json),
        migrations.RemoveField(model_name="paymentexplanation", name="steps"),
        migrations.RemoveField(model_name="paymentexplanation", name="versions"),
        migrations.RunPython(drop_like_index, create_like_index),
    ]

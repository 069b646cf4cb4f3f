"""Standard and PriceIndex (with their history events) belong to the rules app now.

The tables stay where they are, with their rows and their history: this app only forgets the
models (state), after dropping the history triggers, which rules.0001 installs again under the
rules app's names.
"""

import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_explanations_kept_as_their_digested_text"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="priceindex", name="insert_insert"),
        pgtrigger.migrations.RemoveTrigger(model_name="priceindex", name="update_update"),
        pgtrigger.migrations.RemoveTrigger(model_name="standard", name="insert_insert"),
        pgtrigger.migrations.RemoveTrigger(model_name="standard", name="update_update"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="priceindexevent",
                    name="pgh_obj",
                ),
                migrations.RemoveField(
                    model_name="priceindexevent",
                    name="pgh_context",
                ),
                migrations.RemoveField(
                    model_name="priceindexevent",
                    name="recorded_by",
                ),
                migrations.RemoveField(
                    model_name="priceindexevent",
                    name="region",
                ),
                migrations.RemoveField(
                    model_name="standard",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="standard",
                    name="region",
                ),
                migrations.RemoveField(
                    model_name="standardevent",
                    name="pgh_obj",
                ),
                migrations.RemoveField(
                    model_name="standardevent",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="standardevent",
                    name="pgh_context",
                ),
                migrations.RemoveField(
                    model_name="standardevent",
                    name="region",
                ),
                migrations.DeleteModel(
                    name="PriceIndex",
                ),
                migrations.DeleteModel(
                    name="PriceIndexEvent",
                ),
                migrations.DeleteModel(
                    name="Standard",
                ),
                migrations.DeleteModel(
                    name="StandardEvent",
                ),
            ],
            database_operations=[],
        ),
    ]

"""Samples the household address again with the finer statistics target 0010 set: 0010's own
ANALYZE ran in the transaction that set the index's target, where PostgreSQL still reads the old
one (an index column's target is read through the index's cached description), so its sample
stayed at 100 histogram entries. Here the target is committed. SQLite: nothing to do."""

from django.db import migrations

from core.db import RunSQLOnPostgres


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0012_name_statistics"),
    ]

    operations = [RunSQLOnPostgres("ANALYZE beneficiaries_household", migrations.RunSQL.noop)]

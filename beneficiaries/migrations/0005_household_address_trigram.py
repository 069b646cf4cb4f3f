"""A trigram index on the household's address (PostgreSQL's pg_trgm), for the household search:
``UPPER(address) LIKE UPPER('%中山东路12%')`` reads the index instead of every household of the
subtree. pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
SQLite (the embedded mode) gets no such index and scans."""

from django.db import migrations

from core.db import RunSQLOnPostgres

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS household_address_trgm ON beneficiaries_household "
    "USING gin (UPPER(address::text) gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS household_address_trgm"]


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0004_member_name_prefix_index"),
    ]

    operations = [RunSQLOnPostgres(CREATE, DROP)]

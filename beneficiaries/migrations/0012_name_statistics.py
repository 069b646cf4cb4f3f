"""A finer sample of the members' names for the planner (PostgreSQL), as 0010 gives the address:
with the default 100 histogram entries a two-character start of a name found in a thousand
active members may be taken for one in twenty-five thousand, and the search then walks the
members in household order (hundreds of thousands of them) instead of looking the thousand up
by the name's index. SQLite (the embedded mode) has no such statistics."""

from django.db import migrations

from core.db import RunSQLOnPostgres

FORWARD = [
    "ALTER TABLE beneficiaries_member ALTER COLUMN name SET STATISTICS 1000",
    "ANALYZE beneficiaries_member",
]
BACKWARD = ["ALTER TABLE beneficiaries_member ALTER COLUMN name SET STATISTICS -1"]


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0011_read_log_token_after_search_indexes"),
    ]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]

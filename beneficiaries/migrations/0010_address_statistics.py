"""A finer sample of the household address for the planner (PostgreSQL): with the default 100
histogram entries a piece of an address found in one household in a hundred is taken for one in
ten thousand, and the search reads every household of the city that has it through the trigram
index before keeping the subtree's first page. With 1,000 entries the planner sees a common
piece as common and walks the subtree's households in number order instead, stopping at the
page's end. SQLite (the embedded mode) has no such statistics."""

from django.db import migrations

from core.db import RunSQLOnPostgres

FORWARD = [
    "ALTER INDEX household_address_trgm ALTER COLUMN 1 SET STATISTICS 1000",
    "ANALYZE beneficiaries_household",
]
BACKWARD = ["ALTER INDEX household_address_trgm ALTER COLUMN 1 SET STATISTICS -1"]


class Migration(migrations.Migration):
    dependencies = [
        ("beneficiaries", "0009_search_indexes_cover_the_subtree_check"),
    ]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]

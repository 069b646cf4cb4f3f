"""Payment lines' statistics follow each month's batch without an owner's ANALYZE.

A month's batch adds 4-5 % of a city's lines after two years: below autovacuum's default
threshold (10 % of the table), so the planner would take the new month for one row until much
later. Analyse after 1 % of the table has changed. PostgreSQL only.
"""

from django.db import migrations

from core.db import RunSQLOnPostgres

FORWARD = (
    "ALTER TABLE payments_paymentline SET (autovacuum_analyze_scale_factor = 0.01, "
    "autovacuum_analyze_threshold = 1000)"
)
BACKWARD = (
    "ALTER TABLE payments_paymentline RESET (autovacuum_analyze_scale_factor, "
    "autovacuum_analyze_threshold)"
)


class Migration(migrations.Migration):
    dependencies = [("payments", "0015_batch_review_counted_once")]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]

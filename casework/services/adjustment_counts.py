"""The kept counts of adjustments per village, month and kind (``AdjustmentCount``).

On PostgreSQL a statement trigger keeps them as adjustments are inserted (adjustments are
append-only). Whoever removes adjustments by other means — the caseload generator's reset, with
the triggers off — counts a region's rows again here.
"""

from django.db import connection, transaction

from ..models import Adjustment, AdjustmentCount


def recount(*, region_prefix: str) -> None:
    """Count again the adjustments of every village whose code starts with ``region_prefix``."""
    if connection.vendor != "postgresql":
        return  # the counts are kept (and read) on PostgreSQL only
    counts, adjustments = AdjustmentCount._meta.db_table, Adjustment._meta.db_table
    like = region_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {adjustments} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {counts} WHERE region_code LIKE %s", [like])
        cursor.execute(
            f"INSERT INTO {counts} (region_code, effective_month, kind, n)"
            f" SELECT region_code, effective_month, kind, count(*) FROM {adjustments}"
            " WHERE region_code LIKE %s GROUP BY region_code, effective_month, kind",
            [like],
        )

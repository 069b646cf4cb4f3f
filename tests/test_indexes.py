"""The database's indexes (PostgreSQL)."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_no_table_has_the_same_index_twice():
    """Two indexes of one table on the same columns, operator classes, predicate and
    expressions are one index written twice on every insert and update."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indrelid::regclass::text, array_agg(i.indexrelid::regclass::text) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relnamespace = 'public'::regnamespace "
            "GROUP BY i.indrelid, i.indkey::text, i.indclass::text, i.indcollation::text, "
            "coalesce(pg_get_expr(i.indpred, i.indrelid), ''), "
            "coalesce(pg_get_expr(i.indexprs, i.indrelid), '') "
            "HAVING count(*) > 1"
        )
        twice = cursor.fetchall()
    assert twice == []

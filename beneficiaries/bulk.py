"""Bulk writes into history-tracked tables (Household, Member, IncomeItem, Enrolment, ...).

On PostgreSQL every row inserted into a tracked table fires pghistory's trigger, whose PL/pgSQL
exception blocks (reading unset settings) open a subtransaction per row; together with Django's
deferred foreign-key checks this makes one large INSERT quadratic: 18,000 members took 14 s,
0.6 s with :func:`bulk_history_context`. Use it inside the transaction of any bulk write
(import, generators, COPY).
"""

from contextlib import contextmanager

import pghistory
from django.db import connection, transaction


@contextmanager
def bulk_history_context(**metadata):
    """Within the current transaction: check foreign keys per statement, and give the history
    triggers their settings (and a context, ``metadata``, recorded on every history row)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bulk_history_context needs a transaction")
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
    with pghistory.context(**metadata):
        yield

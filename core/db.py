"""Database plumbing shared by the apps' migrations."""

import contextlib

from django.db import connection, migrations
from django.db.models import CheckConstraint


class AddConstraintNotValid(migrations.AddConstraint):
    """AddConstraint that, on PostgreSQL, checks new and changed rows only (``NOT VALID``).

    A bound added to a table that may already hold rows past it (a database that
    accepted 999,999,999,999.99 before) must not make the migration fail: the rows are left
    for their owners to correct, and the batch fails with the reason instead of the deploy.
    Elsewhere (SQLite, the embedded demo) it is a plain AddConstraint.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if schema_editor.connection.vendor != "postgresql" or not isinstance(
            self.constraint, CheckConstraint
        ):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            sql = self.constraint.create_sql(model, schema_editor)
            schema_editor.execute(f"{sql} NOT VALID")


class RunSQLOnPostgres(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only: the plain SQL triggers that hold money rules against
    any session (pgtrigger's own triggers can be skipped with ``SET pgtrigger.ignore``; these
    consult no setting). The embedded SQLite mode has no such triggers."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


@contextlib.contextmanager
def without_triggers():
    """Run the block with every trigger off (``session_replication_role = replica``), which only
    a PostgreSQL superuser may set: for removing synthetic data (the bulk generator's ``--reset``,
    the benchmarks), whose approved batches and lines the money triggers otherwise keep, and for
    tests arranging a past the app could not write. The app's role cannot. Elsewhere a no-op."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")

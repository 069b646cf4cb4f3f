"""Database plumbing shared by the apps' migrations."""

from django.db import migrations
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

"""The app's own PostgreSQL role: it owns nothing and may do only what the app needs.

Migrations run as the owner role; web, workers and beat connect as the app role
(``DB_APP_ROLE``), which :func:`grant_app_role` gives, after every ``migrate``:

- SELECT and INSERT on every table, and the sequences' values;
- UPDATE and DELETE on every table except the append-only ones: adjustments, case steps,
  stored explanations and every history (pghistory event) table, and any other model that
  protects itself against UPDATE and DELETE with a trigger (``append_only_tables``).

A table's owner may disable its triggers; the app role owns no table, so it cannot, and the
money triggers that matter after approval are plain SQL that no session setting
(``SET pgtrigger.ignore``) skips (payments migrations ``doudi_*``).
"""

import pghistory.models
import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql


def _protects_update_and_delete(trigger) -> bool:
    if not isinstance(trigger, pgtrigger.Protect) or trigger.condition is not None:
        return False
    operation = str(trigger.operation).upper()
    return "UPDATE" in operation and "DELETE" in operation


def append_only_tables() -> list[str]:
    """The tables nobody may change or delete from: every history (pghistory event) table, and
    those whose model protects itself against UPDATE and DELETE (without a condition)."""
    protected = {
        model._meta.db_table
        for model, trigger in pgtrigger.registered()
        if _protects_update_and_delete(trigger)
    }
    history = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and not model._meta.proxy
    }
    return sorted(protected | history)


def app_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """The tables of the installed models that exist in the database now."""
    return sorted(
        {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
        & set(connection.introspection.table_names())
    )


def grant_app_role(*, role: str, connection: BaseDatabaseWrapper | None = None) -> None:
    """Give ``role`` exactly what the app needs on the tables that exist now (PostgreSQL)."""
    connection = connection or connections["default"]
    if connection.vendor != "postgresql":
        return
    append_only = set(append_only_tables())
    name = sql.Identifier(role)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(name))
        cursor.execute(
            sql.SQL("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {}").format(name)
        )
        cursor.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name)
        )
        changeable = [table for table in app_tables(connection) if table not in append_only]
        if changeable:
            cursor.execute(
                sql.SQL("GRANT UPDATE, DELETE ON {} TO {}").format(
                    sql.SQL(", ").join(sql.Identifier(table) for table in changeable), name
                )
            )
        # The migrations' own record is the owner's alone.
        cursor.execute(sql.SQL("REVOKE INSERT ON django_migrations FROM {}").format(name))


def grant_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: keep the app role's grants in step with the tables (``DB_APP_ROLE``).
    Sent once per app; the grants are the same each time, made in one transaction."""
    role = settings.DB_APP_ROLE
    if role:
        with transaction.atomic(using=using):
            grant_app_role(role=role, connection=connections[using])

"""Arranging in tests what the database refuses to the app."""

import contextlib
import os

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.db import without_triggers
from core.dbroles import grant_app_role

APP_ROLE = os.environ.get("DOUDI_TEST_AS_APP_ROLE", "")


def act_as_app_role(*, connection) -> None:
    """From now on ``connection`` acts as the app role (``DOUDI_TEST_AS_APP_ROLE``), if set."""
    if APP_ROLE and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{APP_ROLE}"')


@contextlib.contextmanager
def as_owner():
    """The block runs as the database owner when the tests act as the app role: arranging a past
    (a dropped constraint, rows removed behind the app) is not the app's work."""
    if not APP_ROLE or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        already_owner = cursor.fetchone()[0] != APP_ROLE
    if already_owner:  # nested: the outer block gives the role back when it ends
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        act_as_app_role(connection=connection)


@contextlib.contextmanager
def triggers_off():
    """Every trigger off for the block, to arrange a past the app could not write."""
    with as_owner(), without_triggers():
        yield


def migrate_to(targets) -> MigrationExecutor:
    """Migrate the test database to ``targets`` (app label, migration name pairs) as the owner,
    then give the app role its grants again, as ``manage.py migrate`` does after (post_migrate;
    the executor alone does not send it): a migration may make a table anew."""
    with as_owner():
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        if APP_ROLE:
            grant_app_role(role=APP_ROLE)
    return executor


def latest_migrations() -> list[tuple[str, str]]:
    """Every app's latest migration: ``migrate_to`` it to put the schema back after a test."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()

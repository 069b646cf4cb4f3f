"""Django's database sessions, renewed by one statement.

``SESSION_SAVE_EVERY_REQUEST`` renews the session on every request (the idle timeout,
``SESSION_IDLE_MINUTES``). Django's database store writes it inside a transaction of its own:
BEGIN, UPDATE, COMMIT, three round trips on every page. One UPDATE is atomic by itself, so an
existing session outside any transaction is renewed by that UPDATE alone; a new session, and a
save inside a transaction, go through Django's own code (a failed statement there must not
break the surrounding transaction). A session that is gone (signed out elsewhere, expired and
cleared) raises ``UpdateError`` as Django's does.
"""

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import DatabaseError, connections, router


class SessionStore(DatabaseStore):
    def save(self, must_create=False):
        using = router.db_for_write(self.model)
        if self.session_key is None or must_create or connections[using].in_atomic_block:
            return super().save(must_create=must_create)
        row = self.create_model_instance(self._get_session())
        try:
            renewed = (
                self.model._default_manager.using(using)
                .filter(session_key=row.session_key)
                .update(session_data=row.session_data, expire_date=row.expire_date)
            )
        except DatabaseError as error:
            raise UpdateError from error
        if not renewed:
            raise UpdateError

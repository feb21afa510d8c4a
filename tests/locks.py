"""For tests that make one connection wait on another's row lock, and must know when it does."""

from django.db import connection


def waits_on_a_lock() -> bool:
    """Whether some session of this database waits on a lock it has not been granted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks JOIN pg_stat_activity USING (pid) "
            "WHERE NOT granted AND datname = current_database())"
        )
        return bool(cursor.fetchone()[0])

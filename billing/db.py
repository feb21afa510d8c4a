from django.db import connection


def relax_commit_durability() -> None:
    """Let the current transaction commit without waiting for its WAL flush.

    Only for bookkeeping that may be lost in a database crash without harm (the work is
    redone, e.g. a webhook is sent once more): it saves an fsync per commit. A no-op
    outside PostgreSQL.
    """
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")

"""`metering_event_key` compared bytewise, event_id first.

Every ingested event probes and, when new, inserts its key: two descents of the key's
primary key, a comparison at each step. In the database's collation (C.UTF-8 here, a
locale elsewhere) a comparison of two texts goes through strcoll; in "C" it is a memcmp.
Equality does not change (a deterministic collation compares bytes for equality) and
nothing reads the keys in order but the insert, which already sorts them bytewise. With
event_id leading, a comparison stops at the first column for nearly every pair; led by
the workspace and the mode, it first read and compared those, equal within a tenant,
and reached event_id, the third column, without cached offsets. The primary key's
columns are the same, so the same (workspace, mode, event_id) is unique.

Only the index is rebuilt: a collation change leaves the table's rows as they are.
"""

from django.db import migrations

_FORWARD = """
ALTER TABLE metering_event_key
    DROP CONSTRAINT metering_event_key_pkey,
    ALTER COLUMN workspace_id TYPE varchar(40) COLLATE "C",
    ALTER COLUMN event_id TYPE varchar(255) COLLATE "C",
    ADD CONSTRAINT metering_event_key_pkey PRIMARY KEY (event_id, workspace_id, test_mode)
"""

_BACKWARD = """
ALTER TABLE metering_event_key
    DROP CONSTRAINT metering_event_key_pkey,
    ALTER COLUMN workspace_id TYPE varchar(40) COLLATE "default",
    ALTER COLUMN event_id TYPE varchar(255) COLLATE "default",
    ADD CONSTRAINT metering_event_key_pkey PRIMARY KEY (workspace_id, test_mode, event_id)
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    # SQLite compares text bytewise already, and its key order costs nothing noticeable.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_FORWARD)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("metering", "0005_drop_event_id_index")]

    operations = [migrations.RunPython(forward, backward)]

"""Drop `metering_event_event_id`: every stored event paid for an entry in it, and no
query used it. Deduplication reads the key table's primary key; the admin's search
names no workspace (the index's leading columns) and ORs event_id with a substring
match on event_name, so it scans the events with or without the index."""

from django.db import migrations


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS metering_event_event_id")


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS metering_event_event_id ON metering_event "
            "(workspace_id, test_mode, event_id)"
        )


class Migration(migrations.Migration):
    dependencies = [("metering", "0004_usage_record_action_set")]

    operations = [migrations.RunPython(drop, create)]

"""The due index in the order due subscriptions are billed, (next_billing_at, id): a
batch's read of the first due rows walks the index and stops after them. On the time
alone, every batch read all the rows due and sorted them by id, which made a backlog of
thousands cost each of its batches a read of the whole backlog."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0012_unindexed_reference_keys"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="subscription",
            name="subscription_due_idx",
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["next_billing_at", "id"],
                name="subscription_due_idx",
            ),
        ),
    ]

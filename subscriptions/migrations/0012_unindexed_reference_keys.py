"""Drop three indexes of the subscription table no read uses. A billing cycle advances
every subscription it bills, changing `next_billing_at` (the due index's column), so the
update is never HOT and writes an entry into every index of the table: each one dropped
is a write fewer per subscription billed.

- `document_id`, `currency_id`: document types and currencies are reference data that are
  never deleted (PROTECT) and no read looks subscriptions up by them.
- `workspace_id` alone: the (workspace, test_mode, -created_at) index leads with it and
  serves every read by workspace, so the single-column copy Django makes for the key is
  redundant.
"""

import django.db.models.deletion
from django.db import migrations, models

_WORKSPACE_INDEX = "subscriptions_subscription_workspace_id_8ec4994d"


def drop_workspace_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{_WORKSPACE_INDEX}"')


def create_workspace_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{_WORKSPACE_INDEX}" ON "subscriptions_subscription" '
        '("workspace_id")'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0020_workspace_logo_url"),
        ("subscriptions", "0011_subscription_enqueued_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscription",
            name="currency",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="billing.currency",
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="document",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="billing.documenttype",
            ),
        ),
        migrations.RunPython(drop_workspace_index, create_workspace_index),
    ]

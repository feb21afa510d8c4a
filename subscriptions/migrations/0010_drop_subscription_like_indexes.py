"""Drop the `varchar_pattern_ops` copies PostgreSQL gets of the subscription table's text
keys and status. They serve only `LIKE 'prefix%'`, which no query of this table runs,
and every billing cycle pays for them: advancing a subscription changes `next_billing_at`
(an indexed column), so the update is never HOT and writes an entry into each index."""

from django.db import migrations

_COLUMNS = {
    "subscriptions_subscription_id_bf31daea_like": "id",
    "subscriptions_subscription_status_bcf0b7da_like": "status",
    "subscriptions_subscription_coupon_id_82729984_like": "coupon_id",
    "subscriptions_subscription_currency_id_ad6a44f1_like": "currency_id",
    "subscriptions_subscription_customer_id_a993be05_like": "customer_id",
    "subscriptions_subscription_default_source_id_e7d51eb5_like": "default_source_id",
    "subscriptions_subscription_workspace_id_8ec4994d_like": "workspace_id",
}


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in _COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in _COLUMNS.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "subscriptions_subscription" '
            f'("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0009_ended_line")]

    operations = [migrations.RunPython(drop, create)]

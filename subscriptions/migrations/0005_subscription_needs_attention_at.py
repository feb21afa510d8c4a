"""A subscription's `needs_attention` is the datetime billing stopped for someone to look
(Piriod's type), not a flag; subscriptions flagged before it existed take their last
update as that time."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    subscription = apps.get_model("subscriptions", "Subscription")
    flagged = subscription.objects.filter(status="needs_attention")
    flagged.update(needs_attention_at=models.F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_json_decimals"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="needs_attention_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

"""A product's `archived` is the datetime it was archived (Piriod's type), not a flag;
products archived before it existed take their last update as that time."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    product = apps.get_model("catalog", "Product")
    product.objects.filter(status="archived").update(archived_at=models.F("updated_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_json_decimals"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

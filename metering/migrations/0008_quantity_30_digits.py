"""Usage record quantities of 24 integer digits and 6 decimals, as invoice lines hold
them (invoices' 0017_quantity_30_digits says why)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0007_event_key_hash"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usagerecord",
            name="quantity",
            field=models.DecimalField(decimal_places=6, max_digits=30),
        ),
    ]

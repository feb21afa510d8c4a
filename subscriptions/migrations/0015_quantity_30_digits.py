"""Subscription line and add-on quantities of 24 integer digits and 6 decimals, as the
invoice lines they are billed on (invoices' 0017_quantity_30_digits says why)."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0014_due_index_covers_held_cancellations"),
    ]

    operations = [
        migrations.AlterField(
            model_name="subscriptionaddon",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="subscriptionline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
    ]

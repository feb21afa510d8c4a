"""Purchase document line quantities of 24 integer digits and 6 decimals, as every
document line (invoices' 0017_quantity_30_digits says why)."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0013_filed_once"),
    ]

    operations = [
        migrations.AlterField(
            model_name="purchasecreditnoteline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="purchaseline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="retentionline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
    ]

"""Line quantities of 24 integer digits and 6 decimals, up from 12 integer digits.

Usage billed per byte or per token passes 10^12 units in a month (a link averaging
400 Mbit/s moves 10^14 bytes), and an invoice line could not hold it: its cycle failed,
and with it every subscription of its billing batch. 24 integer digits are the most
units whose price at the smallest unit price (0.000001) can still be a stored total;
totals keep their 18 integer digits (no invoice nears 10^18 of a currency's unit, and the
SII's MntTotal has 18 digits). All the quantity columns share billing.models.quantity_field.
PostgreSQL's numeric is stored by value: a wider precision with the same scale rewrites
no row.
"""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0016_pdf_enqueued_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="creditnoteline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="debitnoteline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="invoiceline",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
        migrations.AlterField(
            model_name="orderitem",
            name="quantity",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=30),
        ),
    ]

"""Customer RUTs stored with leading zeros (07608642-7) get the form they are now stored
in (7608642-7), so one RUT has one spelling."""

from django.db import migrations

from billing.tax_ids import normalize_stored_ruts


def drop_leading_zeros(apps, schema_editor):
    normalize_stored_ruts(apps.get_model("customers", "Customer").objects.all())


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0002_customerbalancetransaction'),
    ]

    operations = [
        migrations.RunPython(drop_leading_zeros, migrations.RunPython.noop),
    ]

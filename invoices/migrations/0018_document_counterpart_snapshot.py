"""Documents finalized before a document kept its counterpart get it from their customer's
record as it stands: the nearest there is to what they showed when finalized."""

import billing.encoders
from django.db import migrations, models

from billing.counterparts import counterparts_freeze_finalized


def freeze(apps, schema_editor):
    for model in ("Invoice", "CreditNote", "DebitNote"):
        documents = apps.get_model("invoices", model).objects.all()
        counterparts_freeze_finalized(documents, counterpart_field="customer")


class Migration(migrations.Migration):

    dependencies = [
        ('invoices', '0017_quantity_30_digits'),
    ]

    operations = [
        migrations.AddField(
            model_name='creditnote',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.AddField(
            model_name='debitnote',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.AddField(
            model_name='invoice',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.RunPython(freeze, migrations.RunPython.noop),
    ]

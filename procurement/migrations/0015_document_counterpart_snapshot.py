"""Documents finalized before a document kept its counterpart get it from their supplier's
record as it stands: the nearest there is to what they showed when finalized."""

import billing.encoders
from django.db import migrations, models

from billing.counterparts import counterparts_freeze_finalized


def freeze(apps, schema_editor):
    for model in ("Purchase", "PurchaseCreditNote", "Retention"):
        documents = apps.get_model("procurement", model).objects.all()
        counterparts_freeze_finalized(documents, counterpart_field="supplier")


class Migration(migrations.Migration):

    dependencies = [
        ('procurement', '0014_quantity_30_digits'),
    ]

    operations = [
        migrations.AddField(
            model_name='purchase',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.AddField(
            model_name='purchasecreditnote',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.AddField(
            model_name='retention',
            name='counterpart_snapshot',
            field=models.JSONField(blank=True, decoder=billing.encoders.JSONDecoder, default=dict, encoder=billing.encoders.JSONEncoder),
        ),
        migrations.RunPython(freeze, migrations.RunPython.noop),
    ]

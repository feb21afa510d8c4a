# The constraints apart from the data they need: PostgreSQL creates no index on a table
# with row updates still to check in the same transaction.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('procurement', '0016_purchase_issuer_tax_id'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='purchase',
            constraint=models.UniqueConstraint(condition=models.Q(('number__isnull', False), models.Q(('supplier_tax_id', ''), _negated=True)), fields=('workspace', 'test_mode', 'supplier_tax_id', 'document', 'number'), name='purchase_issuer_folio_unique'),
        ),
        migrations.AddConstraint(
            model_name='purchasecreditnote',
            constraint=models.UniqueConstraint(condition=models.Q(('number__isnull', False), models.Q(('supplier_tax_id', ''), _negated=True)), fields=('workspace', 'test_mode', 'supplier_tax_id', 'document', 'number'), name='purchase_credit_note_issuer_folio_unique'),
        ),
    ]

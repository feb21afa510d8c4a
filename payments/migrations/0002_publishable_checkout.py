import secrets

from django.db import migrations, models

import payments.models


def give_each_payment_a_secret(apps, schema_editor):  # type: ignore[no-untyped-def]
    Payment = apps.get_model("payments", "Payment")
    for payment in Payment.objects.filter(client_secret__isnull=True).only("pk").iterator():
        payment.client_secret = f"pay_secret_{secrets.token_urlsafe(24)}"
        payment.save(update_fields=["client_secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="authentication_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="source",
            name="payer_scope",
            field=models.CharField(blank=True, max_length=40),
        ),
        # Added empty, filled one by one, then made unique: a single default would give
        # every existing payment the same secret.
        migrations.AddField(
            model_name="payment",
            name="client_secret",
            field=models.CharField(max_length=128, null=True),
        ),
        migrations.RunPython(give_each_payment_a_secret, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="payment",
            name="client_secret",
            field=models.CharField(
                default=payments.models.new_payment_client_secret, max_length=128, unique=True
            ),
        ),
    ]

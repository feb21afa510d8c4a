from datetime import UTC

from django.db import migrations, models

import billing.encoders


def keep_the_previous_secret(apps, schema_editor):
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    rotated = WebhookEndpoint.objects.exclude(previous_secret="").exclude(
        previous_secret_expires_at=None
    )
    for endpoint in rotated.iterator():
        expires_at = endpoint.previous_secret_expires_at.astimezone(UTC)
        endpoint.previous_secrets = [
            {"secret": endpoint.previous_secret, "expires_at": expires_at.isoformat()}
        ]
        endpoint.save(update_fields=["previous_secrets"])


def keep_the_newest_previous_secret(apps, schema_editor):
    WebhookEndpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(previous_secrets=[]).iterator():
        newest = endpoint.previous_secrets[0]
        endpoint.previous_secret = newest["secret"]
        endpoint.previous_secret_expires_at = newest["expires_at"]
        endpoint.save(update_fields=["previous_secret", "previous_secret_expires_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0004_json_decimals'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookendpoint',
            name='previous_secrets',
            field=models.JSONField(
                blank=True,
                decoder=billing.encoders.JSONDecoder,
                default=list,
                encoder=billing.encoders.JSONEncoder,
            ),
        ),
        migrations.RunPython(keep_the_previous_secret, keep_the_newest_previous_secret),
        migrations.RemoveField(
            model_name='webhookendpoint',
            name='previous_secret',
        ),
        migrations.RemoveField(
            model_name='webhookendpoint',
            name='previous_secret_expires_at',
        ),
    ]

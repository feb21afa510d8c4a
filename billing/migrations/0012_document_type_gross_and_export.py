from django.db import migrations, models

# Chile's boletas (and their paper forms) are priced with the IVA included (rules.md §8).
GROSS_PRICED = ["39", "41", "35", "38"]
EXPORT = ["110", "111", "112"]


def mark(apps, schema_editor):
    document_type = apps.get_model("billing", "DocumentType")
    document_type.objects.filter(country_id="CL", code__in=GROSS_PRICED).update(
        prices_include_tax=True
    )
    document_type.objects.filter(country_id="CL", code__in=EXPORT).update(is_export=True)


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_enqueued_at")]

    operations = [
        migrations.AddField(
            model_name="documenttype",
            name="prices_include_tax",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="documenttype",
            name="is_export",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]

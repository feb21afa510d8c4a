"""Invoice lines say what they bill: a fixed price or a metered plan's usage. The lines
already written for a metered plan are usage lines (a metered plan is on no other line:
orders refuse it and proration leaves it out)."""

from django.db import migrations, models


def mark_usage_lines(apps, schema_editor):  # type: ignore[no-untyped-def]
    metered = apps.get_model("catalog", "Plan").objects.filter(usage_scheme="metered")
    apps.get_model("invoices", "InvoiceLine").objects.filter(
        plan_id__in=metered.values("id")
    ).update(line_type="usage")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_product_archived_at"),
        ("invoices", "0013_additional_taxes"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="line_type",
            field=models.CharField(
                choices=[("fixed", "Fixed"), ("usage", "Usage")], default="fixed", max_length=8
            ),
        ),
        migrations.RunPython(mark_usage_lines, migrations.RunPython.noop),
    ]

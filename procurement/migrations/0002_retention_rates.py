"""Chile's honorarios withholding rates (Ley 21.133), by the year they take effect.

Rates are data: a change in the law is a new row (in the admin or a migration), not code.
"""

from django.db import migrations

CHILE_RATES = [
    ("2024-01-01", "13.75"),
    ("2025-01-01", "14.5"),
    ("2026-01-01", "15.25"),
    ("2027-01-01", "16"),
    ("2028-01-01", "17"),
]


def seed(apps, schema_editor):
    rate = apps.get_model("procurement", "RetentionRate")
    for valid_from, percent in CHILE_RATES:
        rate.objects.update_or_create(
            country_id="CL", valid_from=valid_from, defaults={"percent": percent}
        )


def unseed(apps, schema_editor):
    rate = apps.get_model("procurement", "RetentionRate")
    rate.objects.filter(country_id="CL", valid_from__in=[d for d, _ in CHILE_RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("procurement", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]

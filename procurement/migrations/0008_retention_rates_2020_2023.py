"""The honorarios rates of 2020 to 2023 (Ley 21.133), so boletas of those years can be
recorded; 0002 seeded 2024 onward."""

from django.db import migrations

EARLIER_RATES = [
    ("2020-01-01", "10.75"),
    ("2021-01-01", "11.5"),
    ("2022-01-01", "12.25"),
    ("2023-01-01", "13"),
]


def seed(apps, schema_editor):
    rate = apps.get_model("procurement", "RetentionRate")
    for valid_from, percent in EARLIER_RATES:
        rate.objects.update_or_create(
            country_id="CL", valid_from=valid_from, defaults={"percent": percent}
        )


def unseed(apps, schema_editor):
    rate = apps.get_model("procurement", "RetentionRate")
    rate.objects.filter(country_id="CL", valid_from__in=[d for d, _ in EARLIER_RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("procurement", "0007_enqueued_at")]

    operations = [migrations.RunPython(seed, unseed)]

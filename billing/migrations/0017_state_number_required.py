"""Every state has its number (0011 gave them theirs); in its own migration, since
PostgreSQL will not alter a table whose rows, written in the same transaction, still have
deferred foreign key checks pending."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0016_state_numbers"),
    ]

    operations = [
        migrations.AlterField(
            model_name="state",
            name="number",
            field=models.PositiveIntegerField(unique=True),
        ),
    ]

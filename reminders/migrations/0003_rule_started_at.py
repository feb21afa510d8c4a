from django.db import migrations, models


class Migration(migrations.Migration):
    """A rule reminds from when it started on its workspace's clock; rules already there
    started when they were created."""

    dependencies = [
        ("reminders", "0002_json_decimals"),
    ]

    operations = [
        migrations.AddField(
            model_name="reminderrule",
            name="started_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE reminders_reminderrule SET started_at = created_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="reminderrule",
            name="started_at",
            field=models.DateTimeField(),
        ),
    ]

"""The due index covers paused subscriptions and those that need attention when they are
to cancel at period end: the cycle cancels them when their period ends, as it does an
active one. Without them a paused subscription's cancellation waited for a resume."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0013_due_index_in_billing_order"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="subscription",
            name="subscription_due_idx",
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ("active",)),
                    models.Q(
                        ("cancel_at_period_end", True),
                        ("status__in", ("paused", "needs_attention")),
                    ),
                    _connector="OR",
                ),
                fields=["next_billing_at", "id"],
                name="subscription_due_idx",
            ),
        ),
    ]

"""Thin tasks: one domain call each; a second run sends nothing already sent."""

from celery import shared_task

from billing.clock import clock_now
from reminders import services


@shared_task
def send_due_reminders(**_: object) -> int:
    """Beat: every reminder due today in its workspace's clock, each once."""
    return services.reminders_send_due(clock=clock_now)

import json
from typing import Any

from django.core.management.base import BaseCommand

from billing.clock import real_now
from config.monitor import backlog


class Command(BaseCommand):
    help = (
        "Print, as one JSON object, the backlog an operator watches: Celery queue lengths, "
        "open and overdue webhook deliveries, unpublished events and the tax-agency backlog."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(backlog(now=real_now())))

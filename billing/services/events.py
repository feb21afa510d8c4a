from typing import Any

from django.db import transaction

from billing.models import Event, Workspace


def event_record(
    *, workspace: Workspace, test_mode: bool, type: str, object_id: str, data: dict[str, Any]
) -> Event:
    """Record a domain event in the caller's transaction (the outbox).

    Called from inside the service that makes the change, so the event exists if and only
    if the change was committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction of the change")
    return Event.objects.create(
        workspace=workspace, test_mode=test_mode, type=type, object_id=object_id, data=data
    )

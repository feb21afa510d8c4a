"""Event recording for payments and intents, shared by every sub-domain."""

from typing import Any

from billing.services.events import event_record
from payments.models import Intent, Payment
from payments.representations import intent_snapshot, payment_snapshot


def _record(row: Payment | Intent, type: str, data: dict[str, Any]) -> None:
    event_record(
        workspace=row.workspace, test_mode=row.test_mode, type=type, object_id=row.id, data=data
    )


def record_payment(payment: Payment, verb: str) -> None:
    _record(payment, f"payment.{verb}", payment_snapshot(payment))


def record_intent(intent: Intent, verb: str) -> None:
    _record(intent, f"intent.{verb}", intent_snapshot(intent))

"""Event snapshots and recording for payments and intents, shared by every sub-domain."""

import json
from typing import Any

from billing.encoders import JSONEncoder
from billing.services.events import event_record
from payments.models import Intent, Payment


def _plain(data: Any) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    from payments.api.serializers import PaymentSerializer

    return _plain(PaymentSerializer(payment).data)


def intent_snapshot(intent: Intent) -> dict[str, Any]:
    from payments.api.serializers import IntentSerializer

    return _plain(IntentSerializer(intent).data)


def _record(row: Payment | Intent, type: str, data: dict[str, Any]) -> None:
    event_record(
        workspace=row.workspace, test_mode=row.test_mode, type=type, object_id=row.id, data=data
    )


def record_payment(payment: Payment, verb: str) -> None:
    _record(payment, f"payment.{verb}", payment_snapshot(payment))


def record_intent(intent: Intent, verb: str) -> None:
    _record(intent, f"intent.{verb}", intent_snapshot(intent))

"""What procurement events carry: the object as the API shows it."""

import json
from typing import Any

from rest_framework.serializers import Serializer

from billing.encoders import JSONEncoder


def _plain(serializer: Serializer) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(serializer.data, cls=JSONEncoder))
    return data


def purchase_snapshot(purchase: Any) -> dict[str, Any]:
    from procurement.api.serializers import PurchaseSerializer

    return _plain(PurchaseSerializer(purchase))


def purchase_credit_note_snapshot(note: Any) -> dict[str, Any]:
    from procurement.api.serializers import PurchaseCreditNoteSerializer

    return _plain(PurchaseCreditNoteSerializer(note))


def retention_snapshot(retention: Any) -> dict[str, Any]:
    from procurement.api.serializers import RetentionSerializer

    return _plain(RetentionSerializer(retention))

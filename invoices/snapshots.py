"""What invoice events carry: the document as the API shows it."""

import json
from typing import Any

from billing.encoders import JSONEncoder
from invoices.models import Invoice


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    from invoices.api.serializers import InvoiceSerializer

    data = InvoiceSerializer(invoice).data
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain

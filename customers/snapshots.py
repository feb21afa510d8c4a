"""What an event carries: the object as the API shows it at the time of the event."""

import json
from typing import Any

from billing.encoders import JSONEncoder
from customers.models import Contact, Customer


def _plain(data: Any) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return plain


def customer_snapshot(customer: Customer) -> dict[str, Any]:
    from customers.api.serializers import CustomerSerializer

    return _plain(CustomerSerializer(customer).data)


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    from customers.api.serializers import ContactSerializer

    return _plain(ContactSerializer(contact).data)

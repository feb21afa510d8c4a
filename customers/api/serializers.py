from typing import Any

from rest_framework import serializers

from customers.models import CustomerBalanceTransaction
from customers.representations import aggregation_amount


class CustomerBalanceTransactionSerializer(serializers.ModelSerializer):
    """One movement of the customer's balance: a positive `amount` is credit the customer
    holds with us (`credit_note`: credited beyond what `invoice` still owed), a negative
    one credit paid back (`refund`); `payment`: what a payment brought beyond what its
    invoices owed, with no `invoice`. `source` is the credit note, refund or payment."""

    amount = aggregation_amount()
    currency = serializers.CharField(source="currency_id", read_only=True)
    customer = serializers.CharField(source="customer_id", read_only=True)
    invoice = serializers.CharField(source="invoice_id", read_only=True, allow_null=True)
    source = serializers.CharField(source="source_id", read_only=True)  # type: ignore[assignment]
    created = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = CustomerBalanceTransaction
        fields = [
            "id",
            "customer",
            "amount",
            "currency",
            "kind",
            "invoice",
            "source",
            "description",
            "test_mode",
            "created",
        ]
        read_only_fields = fields

    def to_representation(self, instance: CustomerBalanceTransaction) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        data["invoice"] = data["invoice"] or None  # a payment's excess belongs to none
        return data

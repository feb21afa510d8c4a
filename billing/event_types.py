"""Every domain event type the server records. Webhook endpoints subscribe to these."""

EVENT_TYPES = frozenset(
    {
        "customer.created",
        "customer.updated",
        "customer.archived",
        "customer.unarchived",
        "customer.deleted",
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.uncollectible",
        "invoice.cancelled",
        "invoice.tax_agency_succeeded",
        "invoice.tax_agency_failed",
        "credit_note.created",
        "credit_note.finalized",
        "credit_note.tax_agency_succeeded",
        "credit_note.tax_agency_failed",
        "debit_note.created",
        "debit_note.finalized",
        "debit_note.tax_agency_succeeded",
        "debit_note.tax_agency_failed",
        "order.created",
        "order.confirmed",
        "order.invoiced",
        "payment.created",
        "payment.succeeded",
        "payment.failed",
        "subscription.created",
        "subscription.invoiced",
        "subscription.paused",
        "subscription.resumed",
        "subscription.cancelled",
        "subscription.needs_attention",
        "intent.authorized",
        "intent.captured",
        "intent.finalized",
        "purchase.finalized",
        "retention.finalized",
        "webhook_endpoint.disabled",
    }
)

# Sent only to the endpoint whose `test` action asked for it.
PING = "ping"
ALL = "*"

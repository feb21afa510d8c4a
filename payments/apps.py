from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Invoices and customers show what payments owns (amounts paid, saved cards) but
        # sit below it: they are handed payments' reads here.
        from customers.selectors import customer_annotations_register
        from invoices.payments_closing import invoice_payments_close_register
        from invoices.payments_reads import invoice_payment_reads_register
        from payments.invoice_reads import INVOICE_PAYMENT_READS, customer_sources_annotations
        from payments.services.invoice_closing import invoice_checkouts_close

        invoice_payment_reads_register(INVOICE_PAYMENT_READS)
        # An invoice that is cancelled closes its open intents and waiting payments.
        invoice_payments_close_register(invoice_checkouts_close)
        # A customer just created has saved no card.
        customer_annotations_register(
            "payments", customer_sources_annotations, new_customer={"payment_sources": []}
        )

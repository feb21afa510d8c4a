from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"

    def ready(self) -> None:
        # A customer's representation shows its sales and balance, which invoices computes;
        # customers sits below invoices, so it is handed the annotations here.
        from catalog.services import catalog_holders_register
        from customers.selectors import customer_annotations_register
        from invoices.selectors import (
            NEW_CUSTOMER_AGGREGATIONS,
            customer_aggregation_annotations,
            order_naming,
        )

        customer_annotations_register(
            "invoices", customer_aggregation_annotations, new_customer=NEW_CUSTOMER_AGGREGATIONS
        )
        # An open order names its plans and coupon by id: the catalog keeps them.
        catalog_holders_register("orders", order_naming, holds_price=False)

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"

    def ready(self) -> None:
        # Invoicing an order with plans starts their subscription; invoices never
        # import this app, so it is handed the service here.
        from catalog.services import catalog_holders_register
        from invoices.services.orders import order_subscriptions_register
        from subscriptions.selectors import subscription_billing_with
        from subscriptions.services import subscription_from_order

        order_subscriptions_register(subscription_from_order)
        # What a subscription bills with keeps its price.
        catalog_holders_register("subscriptions", subscription_billing_with, holds_price=True)

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"

    def ready(self) -> None:
        # Invoicing an order with plans starts their subscription; invoices never
        # import this app, so it is handed the service here.
        from invoices.services.orders import order_subscriptions_register
        from subscriptions.services import subscription_from_order

        order_subscriptions_register(subscription_from_order)

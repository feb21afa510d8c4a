from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        from billing.representations import expandable_register
        from customers.representations import CustomerSerializer

        # `?expand=customer` on documents, subscriptions and payments shows the customer.
        expandable_register("customer", CustomerSerializer)

from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"

    def ready(self) -> None:
        # Lower floors never import metering: they offer hooks, filled here.
        from catalog.services import meter_lookup_register
        from metering.hooks import meter_aggregation, usage_quantities
        from subscriptions.usage import usage_rows_register

        meter_lookup_register(meter_aggregation)
        usage_rows_register(usage_quantities)

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Registers the OpenAPI security schemes for our authentication classes, and the
        # deploy check on the signing keys, what forgets a cached API key's caller, and
        # the folded text lookup (with its function on SQLite connections).
        from billing import (
            auth_cache,  # noqa: F401
            secrets_check,  # noqa: F401
            text_fold,  # noqa: F401
        )
        from billing.api import schema  # noqa: F401

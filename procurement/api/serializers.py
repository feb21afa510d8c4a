from rest_framework import serializers

from billing.models import Country, Currency
from billing.representations import CodeField, ComunaField, TenantModelSerializer
from customers.representations import StateField
from procurement.models import Supplier


class SupplierSerializer(TenantModelSerializer):
    country = CodeField(queryset=Country.objects.all())
    state = StateField(required=False, allow_null=True)
    comuna = ComunaField(
        required=False,
        allow_null=True,
        help_text="A Chilean supplier's comuna, by its code as text or a number "
        "(/generals/comunas/). Optional; it sets `state` to its region.",
    )
    currency = CodeField(
        queryset=Currency.objects.all(),
        required=False,
        help_text="Defaults to the country's currency.",
    )
    tax_id = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="Required for a supplier of the workspace's country when it regulates tax "
        "ids; a Chilean RUT is validated with its check digit and stored as 76086428-5.",
    )
    tax_settings = serializers.DictField(required=False)

    class Meta:
        model = Supplier
        fields = [
            "id", "name", "country", "state", "comuna", "currency", "tax_id", "address", "email",
            "phone", "website", "tax_settings", "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip

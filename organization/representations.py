"""What org units, bank accounts and the biller connection look like to the outside."""

from rest_framework import serializers

from billing.models import Comuna, Currency
from billing.representations import CodeField, JSONValueField, TenantModelSerializer
from organization.models import BankAccount, Biller, OrgUnit


class OrgUnitSerializer(TenantModelSerializer):
    comuna = CodeField(
        queryset=Comuna.objects.all(),
        required=False,
        allow_null=True,
        help_text="The branch's comuna, by its code (13101 Santiago; /generals/comunas/).",
    )

    class Meta:
        model = OrgUnit
        fields = [
            "id", "name", "address", "comuna", "city", "state", "sii_branch_code", "phone",
            "email",
            "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip


class BankAccountSerializer(TenantModelSerializer):
    currency = CodeField(
        queryset=Currency.objects.all(),
        required=False,
        help_text="ISO 4217 code; the workspace's currency when omitted.",
    )

    class Meta:
        model = BankAccount
        fields = [
            "id", "bank_name", "account_type", "account_number", "holder_name",
            "holder_tax_id", "email", "currency", "on_documents", "metadata", "test_mode",
            "created", "updated",
        ]  # fmt: skip


class BillerSerializer(TenantModelSerializer):
    settings = serializers.DictField(
        child=JSONValueField(allow_null=True),
        required=False,
        help_text="Backend-specific settings, an object (none for the sandbox).",
    )

    class Meta:
        model = Biller
        fields = [
            "id", "backend", "environment", "status", "settings", "metadata", "test_mode",
            "created", "updated",
        ]  # fmt: skip

from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

from billing.models import ApiToken, Country, Currency, DocumentType, State, Workspace
from billing.representations import StrictFieldsMixin
from billing.services.workspaces import hash_token_key


class WorkspaceSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country_id", read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "country", "currency", "timezone", "tax_id"]
        read_only_fields = fields


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Currency
        fields = ["code", "name", "minor_units"]


class CountrySerializer(serializers.ModelSerializer):
    currency = serializers.CharField(source="currency_id", read_only=True)

    class Meta:
        model = Country
        fields = ["code", "name", "currency", "has_tax_regulation", "tax_id_name"]


class StateSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(
        source="number",
        read_only=True,
        help_text="The integer id Piriod's clients send as a customer's or supplier's `state`.",
    )
    country = serializers.CharField(source="country_id", read_only=True)

    class Meta:
        model = State
        fields = ["id", "code", "name", "country"]


class DocumentTypeSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country_id", read_only=True)
    currency = serializers.CharField(source="currency_id", read_only=True)

    class Meta:
        model = DocumentType
        fields = [
            "id",
            "code",
            "name",
            "country",
            "currency",
            "tax",
            "has_taxes",
            "hold_taxes",
            "is_sale",
            "is_purchase",
            "is_order",
            "is_credit_note",
            "is_debit_note",
            "is_electronic",
        ]


class JwtObtainSerializer(StrictFieldsMixin, serializers.Serializer):
    """Exchange a username and password, or an API token, for a JWT pair."""

    username = serializers.CharField(required=False, max_length=150)
    password = serializers.CharField(required=False, write_only=True, max_length=256)
    token = serializers.CharField(required=False, write_only=True, max_length=128)
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("token"):
            api_token = (
                ApiToken.objects.select_related("user")
                .filter(key_hash=hash_token_key(attrs["token"]), revoked_at__isnull=True)
                .first()
            )
            user = api_token.user if api_token and api_token.user.is_active else None
        elif attrs.get("username") and attrs.get("password"):
            user = authenticate(
                self.context.get("request"), username=attrs["username"], password=attrs["password"]
            )
        else:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send username and password, or token."]}
            )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with these credentials."]},
                code="authorization",
            )
        refresh = RefreshToken.for_user(user)
        return {"access": str(refresh.access_token), "refresh": str(refresh)}


class JwtRefreshSerializer(StrictFieldsMixin, TokenRefreshSerializer):
    """simplejwt's refresh exchange; unknown fields are a 400 as in every other body."""

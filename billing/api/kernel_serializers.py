from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from billing.models import ApiToken, Comuna, Country, Currency, DocumentType, State, Workspace
from billing.representations import ComunaField, StrictFieldsMixin
from billing.services.workspaces import ISSUER_FIELDS, hash_token_key


class WorkspaceSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country_id", read_only=True)
    comuna = serializers.CharField(source="comuna_id", read_only=True, allow_null=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "country", "currency", "timezone", "tax_id", *ISSUER_FIELDS]
        read_only_fields = fields


class WorkspaceIssuerSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """What documents print of their issuer; only the workspace's owners change it."""

    comuna = ComunaField(
        required=False,
        allow_null=True,
        help_text="The head office's comuna, by its code as text or a number (13123 Providencia).",
    )
    activity_code = serializers.IntegerField(
        required=False, allow_null=True, help_text="The SII's Acteco, six digits (620200)."
    )
    sii_resolution_number = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2_147_483_647,  # the column's range
        help_text="0 in certification.",
    )

    class Meta:
        model = Workspace
        fields = list(ISSUER_FIELDS)
        extra_kwargs = {
            "legal_name": {"help_text": "Razón social; documents print `name` without one."},
            "activity_description": {"help_text": "The giro registered with the SII."},
            "sii_office": {"help_text": "The SII office printed under the folio."},
            "logo_url": {"help_text": "An image shown on the hosted checkout pages."},
        }


class CurrencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Currency
        fields = ["code", "name", "minor_units"]


class CountrySerializer(serializers.ModelSerializer):
    currency = serializers.CharField(source="currency_id", read_only=True)

    class Meta:
        model = Country
        fields = ["code", "name", "currency", "has_tax_regulation", "tax_id_name"]


class ComunaSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region_id", read_only=True)

    class Meta:
        model = Comuna
        fields = ["code", "name", "region"]


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
            "prices_include_tax",
            "is_export",
        ]


class JwtObtainSerializer(StrictFieldsMixin, serializers.Serializer):
    """Exchange a username and password, or an API token, for a JWT pair."""

    username = serializers.CharField(required=False, max_length=150)
    password = serializers.CharField(required=False, write_only=True, max_length=256)
    token = serializers.CharField(required=False, write_only=True, max_length=128)
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        """The user signing in, and the API token they sign in with (if any)."""
        api_token = None
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
        return {"user": user, "api_token": api_token}


class JwtRefreshSerializer(StrictFieldsMixin, serializers.Serializer):
    """A refresh token for a new pair; the one sent is used up (billing.services.jwt_sessions).
    Unknown fields are a 400 as in every other body."""

    refresh = serializers.CharField()
    access = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        try:
            return {"token": RefreshToken(attrs["refresh"])}
        except TokenError as exc:
            raise InvalidToken("Invalid or expired refresh token.") from exc

"""Back-office for payments, sources, gateways, links and intents.

Money moves only through the services, so payments, intents and sources are read-only
here. Card tokens are shown masked; gateway secrets are write-only (a blank field keeps
the stored secret) and never rendered back.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin_lists import BoundedDateHierarchyMixin
from billing.admin_money import MoneyAdminMixin
from billing.admin_services import ServiceSaveAdminMixin, add_service_errors
from billing.clock import clock_now, clock_now_for
from billing.errors import InvalidInput
from payments import services
from payments.choices import GatewayKind
from payments.models import (
    Intent,
    Payment,
    PaymentAllocation,
    PaymentGateway,
    PaymentLink,
    Refund,
    Source,
    StripeEvent,
)
from payments.services.gateways import GatewaySettings

SETTINGS = GatewaySettings.__annotations__


def mask(value: str) -> str:
    return f"…{value[-4:]}" if value else ""


class ReadOnlyAdmin(MoneyAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AllocationInline(MoneyAdminMixin, admin.TabularInline):
    model = PaymentAllocation
    fields = ("invoice", "amount", "amount_refunded")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(MoneyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("id", "amount", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "amount_shown", "currency", "status", "date", "test_mode")
    list_filter = ("status", "test_mode", "gateway")
    search_fields = ("id", "customer__name", "description")
    list_select_related = ("customer",)
    inlines = [AllocationInline, RefundInline]
    fields = (
        "id", "workspace", "test_mode", "customer", "amount", "currency", "amount_refunded",
        "date", "description", "status", "failed_reason", "payment_date", "source", "gateway",
        "gateway_reference", "subscription_id", "return_url", "authentication_expires_at",
        "metadata", "created_at",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "card_brand", "card_last4", "status", "usage", "test_mode")
    list_filter = ("status", "usage", "gateway", "test_mode")
    search_fields = ("id", "customer__name", "card_last4")
    list_select_related = ("customer",)
    fields = (
        "id", "workspace", "test_mode", "customer", "gateway", "usage", "status", "card_brand",
        "card_last4", "card_exp_month", "card_exp_year", "masked_token", "payer_scope",
        "created_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="gateway token")
    def masked_token(self, source: Source) -> str:
        return mask(source.gateway_token)


class PaymentGatewayForm(forms.ModelForm):
    secret_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave blank to keep the stored key.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave blank to keep the stored secret.",
    )

    class Meta:
        model = PaymentGateway
        fields = (
            "workspace", "test_mode", "gateway", "enabled", "publishable_key", "secret_key",
            "webhook_secret", "sync_customers", "sync_invoices",
        )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stored secrets never reach the rendered form.
        self.initial.pop("secret_key", None)
        self.initial.pop("webhook_secret", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stored = (
            None if self.instance._state.adding else PaymentGateway.objects.get(pk=self.instance.pk)
        )
        for name in ("secret_key", "webhook_secret"):
            # A new row has its id before it is saved: only a stored one has secrets.
            if not cleaned.get(name) and stored is not None:
                cleaned[name] = getattr(stored, name)
        gateway = cleaned.get("gateway") or (stored.gateway if stored else "")
        test_mode = stored.test_mode if stored else bool(cleaned.get("test_mode"))
        # The API's check of a new Stripe key, made once here, outside the save's
        # transaction; the services take the key it checked and do not ask Stripe again.
        self.checked_key = ""
        if gateway == GatewayKind.STRIPE and not self.errors:
            try:
                self.checked_key = services.stripe_key_check(
                    fields={name: cleaned[name] for name in self.changed_data if name in cleaned},
                    test_mode=test_mode,
                    current_key=stored.secret_key if stored else "",
                )
            except InvalidInput as exc:
                add_service_errors(self, exc)
        return cleaned


@admin.register(PaymentGateway)
class PaymentGatewayAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    """Saved and deleted through the gateway services, as the API saves them: credentials
    of the other mode or of another kind, a second connection to a gateway and a key
    Stripe refuses are refused on the form."""

    form = PaymentGatewayForm
    list_display = ("id", "workspace", "gateway", "enabled", "status", "secret", "test_mode")
    list_filter = ("gateway", "enabled", "status", "test_mode")
    _state = ("status", "verified_at", "last_error", "masked_webhook_secret")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The keys belong to this tenant and this gateway: a connection never moves.
        if obj is not None:
            return ("workspace", "test_mode", "gateway", *self._state)
        return self._state

    def save_model(
        self, request: HttpRequest, obj: PaymentGateway, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        names = form.changed_data if change else data
        fields = {name: data[name] for name in names if name in SETTINGS}
        if change:
            services.payment_gateway_update(
                connection=obj, now=clock_now_for(obj), checked_key=form.checked_key, **fields
            )
            return
        workspace, test_mode = data["workspace"], data["test_mode"]
        created = services.payment_gateway_create(
            workspace=workspace,
            test_mode=test_mode,
            gateway=data["gateway"],
            now=clock_now(workspace=workspace, test_mode=test_mode),
            checked_key=form.checked_key,
            **fields,
        )
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: PaymentGateway) -> None:
        services.payment_gateway_delete(gateway=obj)

    @admin.display(description="stored webhook secret")
    def masked_webhook_secret(self, gateway: PaymentGateway) -> str:
        return mask(gateway.webhook_secret)

    @admin.display(description="secret key")
    def secret(self, gateway: PaymentGateway) -> str:
        return mask(gateway.secret_key)


@admin.register(PaymentLink)
class PaymentLinkAdmin(ReadOnlyAdmin):
    list_display = (
        "id", "description", "amount_shown", "currency", "invoice", "expires_at", "paid_at",
    )  # fmt: skip
    list_filter = ("reusable", "test_mode")
    search_fields = ("id", "description")
    fields = (
        "id", "workspace", "test_mode", "description", "amount", "currency", "invoice",
        "customer", "reusable", "expires_at", "paid_at", "return_url", "created_at",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Intent)
class IntentAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "amount_shown", "currency", "invoice", "order", "payment")
    list_filter = ("status", "test_mode")
    search_fields = ("id",)
    fields = (
        "id", "workspace", "test_mode", "status", "amount", "currency", "customer", "invoice",
        "order", "payment_link", "source", "payment", "failed_reason", "return_url",
        "expires_at", "authorized_at", "captured_at", "finalized_at", "created_at",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(StripeEvent)
class StripeEventAdmin(BoundedDateHierarchyMixin, ReadOnlyAdmin):
    """What Stripe sent to the workspace's webhook URL, and what became of it."""

    list_display = ("stripe_id", "type", "status", "workspace", "test_mode", "created_at")
    list_filter = ("status", "type", "test_mode")
    search_fields = ("stripe_id", "type")
    date_hierarchy = "created_at"
    fields = (
        "id", "workspace", "test_mode", "stripe_id", "type", "stripe_created_at", "status",
        "attempts", "outcome", "processed_at", "payload", "created_at",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["reprocess"]

    @admin.action(description="Process again")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        for event in queryset:
            done = services.stripe_event_reprocess(event=event, now=clock_now_for(event))
            level = messages.ERROR if done.status == "failed" else messages.SUCCESS
            self.message_user(request, f"{done.stripe_id}: {done.status} ({done.outcome})", level)

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from billing.admin_money import MoneyAdminMixin
from billing.errors import DomainError, InvalidInput
from customers import services
from customers.models import Contact, Customer, CustomerBalanceTransaction


class CustomerAdminForm(forms.ModelForm):
    """Runs the same rules as the API (tax id, state in country) before saving."""

    class Meta:
        model = Customer
        exclude: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or not cleaned.get("workspace"):
            return cleaned
        candidate = Customer(**{k: v for k, v in cleaned.items() if k != "id"})
        try:
            services.customer_validate(cleaned["workspace"], candidate)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.errors) from exc
        # The instance still holds the stored customer until the form is saved.
        if self.instance.pk and cleaned.get("currency"):
            try:
                services.check_currency_change(self.instance, cleaned["currency"])
            except DomainError as exc:
                raise forms.ValidationError({"currency": [exc.detail]}) from exc
        cleaned["tax_id"] = candidate.tax_id
        cleaned["state"] = candidate.state
        return cleaned


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "email", "phone", "invoicing", "collections"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = [
        "id",
        "name",
        "tax_id",
        "country",
        "status",
        "stripe_sync_status",
        "workspace",
        "test_mode",
        "created_at",
    ]
    list_filter = ["workspace", "test_mode", "status", "country", "stripe_sync_status"]
    search_fields = ["id", "name", "email", "tax_id", "reference"]
    # The Stripe copy is kept by the sync, not by hand.
    readonly_fields = [
        "id", "stripe_id", "stripe_sync_status", "stripe_synced_at", "stripe_sync_error",
        "created_at", "updated_at",
    ]  # fmt: skip
    autocomplete_fields = ["workspace", "country", "state"]
    inlines = [ContactInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        # A customer never moves to another tenant.
        if obj is not None:
            return [*self.readonly_fields, "workspace", "test_mode"]
        return self.readonly_fields

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        contacts = formset.save(commit=False)
        for contact in contacts:
            contact.workspace_id = form.instance.workspace_id
            contact.test_mode = form.instance.test_mode
            contact.save()
        for contact in formset.deleted_objects:
            contact.delete()


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "email", "customer", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "invoicing", "collections"]
    search_fields = ["id", "name", "email", "customer__name"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["workspace", "test_mode"]

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        obj.workspace_id = obj.customer.workspace_id
        obj.test_mode = obj.customer.test_mode
        super().save_model(request, obj, form, change)


@admin.register(CustomerBalanceTransaction)
class CustomerBalanceTransactionAdmin(MoneyAdminMixin, admin.ModelAdmin):
    """Read-only: entries are written by the credit note and refund services, with the
    invoice's amount due they balance."""

    list_display = [
        "id", "customer", "amount_shown", "currency", "kind", "invoice_id", "created_at",
    ]  # fmt: skip
    fields = (
        "id", "workspace", "test_mode", "customer", "amount", "currency", "kind", "invoice_id",
        "source_id", "description", "created_at",
    )  # fmt: skip
    list_filter = ["workspace", "test_mode", "kind"]
    search_fields = ["id", "invoice_id", "source_id", "customer__name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

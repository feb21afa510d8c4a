from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin_money import MoneyAdminMixin
from billing.admin_services import ServiceModelAdmin, ServiceSaveAdminMixin
from customers import services
from customers.choices import CONTACTS_PER_CUSTOMER, CustomerStatus
from customers.models import Contact, Customer, CustomerBalanceTransaction

CONTACT_FIELDS = services.ContactFields.__annotations__


class ContactInline(admin.TabularInline):
    """Saved by the contact services (CustomerAdmin.save_formset); the form counts the
    contacts against the same limit, so what the service would refuse shows on it."""

    model = Contact
    extra = 0
    fields = ("name", "email", "phone", "invoicing", "collections")
    max_num = CONTACTS_PER_CUSTOMER

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, validate_max=True, **kwargs)


# What the customer services take (CustomerFields, and the comuna the API also sets).
SERVICE_FIELDS = (*services.CustomerFields.__annotations__, "comuna")


@admin.register(Customer)
class CustomerAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    """Customers are created, changed, archived and deleted through the API's services:
    the same rules (tax id, state in country, currency kept once there are documents,
    unique reference) and the same events."""

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

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            fields = {name: data[name] for name in SERVICE_FIELDS if name in data}
            created = services.customer_create(
                workspace=data["workspace"], test_mode=data["test_mode"], **fields
            )
            obj.pk = created.pk
            if data.get("status") == CustomerStatus.ARCHIVED:
                services.customer_archive(customer=created)
            return
        changed = {name: data[name] for name in form.changed_data if name in SERVICE_FIELDS}
        if changed:
            services.customer_update(customer=obj, **changed)
        if "status" in form.changed_data:
            if data["status"] == CustomerStatus.ARCHIVED:
                services.customer_archive(customer=obj)
            else:
                services.customer_unarchive(customer=obj)

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        services.customer_delete(customer=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            services.customer_delete(customer=customer)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        customer = form.instance
        formset.save(commit=False)
        # Deletions first: they make room for the contacts added alongside.
        for contact in formset.deleted_objects:
            services.contact_delete(contact=contact)
        for contact, changed in formset.changed_objects:
            fields = {name: getattr(contact, name) for name in changed if name in CONTACT_FIELDS}
            services.contact_update(contact=contact, **fields)
        for contact in formset.new_objects:
            fields = {name: getattr(contact, name) for name in ContactInline.fields}
            services.contact_create(
                workspace=customer.workspace,
                test_mode=customer.test_mode,
                customer=customer,
                **fields,
            )


@admin.register(Contact)
class ContactAdmin(ServiceModelAdmin):
    """Saved through the contact services: the contact limit, the customer's tenant and
    the contact.* events as in the API."""

    list_display = ["id", "name", "email", "customer", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "invoicing", "collections"]
    search_fields = ["id", "name", "email", "customer__name"]
    autocomplete_fields = ["customer"]
    service_fields = CONTACT_FIELDS
    # A contact lives in its customer's tenant.
    tenant_from = "customer"

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Contact:
        return services.contact_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Contact, fields: Any) -> Contact:
        return services.contact_update(contact=obj, **fields)

    def service_delete(self, obj: Contact) -> None:
        services.contact_delete(contact=obj)


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

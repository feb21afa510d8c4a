"""Back-office for suppliers, purchases, purchase credit notes, retentions and the
retention rate table.

Documents are created through the API (which checks the supplier, the type and the
number). A finalized document is a read-only view here as in the API (G11): no change,
no delete, no line edits; drafts may change their plain fields through the same update
services as the API, so totals stay the server's.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.admin_services import ServiceSaveAdminMixin
from invoices.admin import AMOUNT_FIELDS, TAX_AGENCY_FIELDS, DocumentAdmin, DraftForm, fields_but
from invoices.admin import ReadOnlyLineInline as _ReadOnlyLineInline
from procurement.models import (
    Purchase,
    PurchaseCreditNote,
    PurchaseCreditNoteLine,
    PurchaseLine,
    Retention,
    RetentionLine,
    RetentionRate,
    Supplier,
)
from procurement.services import credit_notes, purchases, retentions, suppliers


@admin.register(Supplier)
class SupplierAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "tax_id", "country", "email", "workspace", "test_mode"]
    list_filter = ["workspace", "test_mode", "country"]
    search_fields = ["id", "name", "tax_id", "email"]
    readonly_fields = ["id", "workspace", "test_mode", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the API checks the tenant and the tax id

    def save_model(self, request: HttpRequest, obj: Supplier, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        suppliers.supplier_update(supplier=obj, **changed)


@admin.register(RetentionRate)
class RetentionRateAdmin(admin.ModelAdmin):
    """The honorarios rates by the date they take effect: a change in the law is a row.
    Reference data with no service: the API neither writes nor changes it, and a
    retention keeps the rate it was computed with."""

    list_display = ["country", "valid_from", "percent"]
    list_filter = ["country"]


class PurchaseLineInline(_ReadOnlyLineInline):
    model = PurchaseLine


class PurchaseCreditNoteLineInline(_ReadOnlyLineInline):
    model = PurchaseCreditNoteLine


class RetentionLineInline(_ReadOnlyLineInline):
    model = RetentionLine


class SupplierDocumentAdmin(DocumentAdmin):
    list_display = [
        "id", "document", "number", "supplier", "date", "total_shown", "status",
        "biller_status", "workspace", "mode",
    ]  # fmt: skip
    list_select_related = ["supplier", "workspace", "document"]
    search_fields = [
        "id", "supplier__id", "supplier__name", "supplier__tax_id", "number",
        "tax_agency_tracking_id",
    ]  # fmt: skip
    actions = ["retry_submission"]

    @admin.action(description="Retry the failed tax agency submission")
    def retry_submission(self, request: HttpRequest, queryset: Any) -> None:
        self._retry_submission(request, queryset)


class PurchaseForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        return purchases.purchase_update(purchase=document, **changed)


class PurchaseCreditNoteForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        return credit_notes.purchase_credit_note_update(credit_note=document, **changed)


class RetentionForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        return retentions.retention_update(retention=document, **changed)


def _draft_save(service: Any) -> Any:
    def save_model(self: Any, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        service(obj, changed)

    return save_model


@admin.register(Purchase)
class PurchaseAdmin(SupplierDocumentAdmin):
    form = PurchaseForm
    inlines = [PurchaseLineInline]
    fieldsets = [
        (None, {"fields": (
            "id", "workspace", "test_mode", "supplier", "document", "number", "self_issued",
            "status", "pdf_link",
        )}),
        ("Dates", {"fields": ("date", "due_date")}),
        ("Amounts", {"fields": AMOUNT_FIELDS}),
        ("Note and references", {"fields": ("note", "references", "metadata")}),
        ("Tax agency", {"fields": TAX_AGENCY_FIELDS}),
        ("History", {"fields": ("imported", "finalized_at", "created_at", "updated_at")}),
    ]  # fmt: skip
    draft_fields = ("date", "due_date", "note", "metadata")
    readonly_fields = fields_but(fieldsets, editable=draft_fields)
    save_model = _draft_save(PurchaseForm.update_service)


@admin.register(PurchaseCreditNote)
class PurchaseCreditNoteAdmin(SupplierDocumentAdmin):
    form = PurchaseCreditNoteForm
    inlines = [PurchaseCreditNoteLineInline]
    fieldsets = [
        (None, {"fields": (
            "id", "workspace", "test_mode", "purchase", "supplier", "document", "number",
            "reason", "description", "status", "pdf_link",
        )}),
        ("Dates", {"fields": ("date",)}),
        ("Amounts", {"fields": AMOUNT_FIELDS}),
        ("Note and references", {"fields": ("note", "references", "metadata")}),
        ("Tax agency", {"fields": TAX_AGENCY_FIELDS}),
        ("History", {"fields": ("finalized_at", "created_at", "updated_at")}),
    ]  # fmt: skip
    draft_fields = ("date", "note", "metadata")
    readonly_fields = fields_but(fieldsets, editable=draft_fields)
    save_model = _draft_save(PurchaseCreditNoteForm.update_service)


@admin.register(Retention)
class RetentionAdmin(SupplierDocumentAdmin):
    form = RetentionForm
    inlines = [RetentionLineInline]
    fieldsets = [
        (None, {"fields": (
            "id", "workspace", "test_mode", "supplier", "purchase", "document", "number",
            "status", "pdf_link",
        )}),
        ("Dates", {"fields": ("date",)}),
        ("Amounts", {"fields": ("currency", "subtotal", "retention_percent", "retention",
                                "total_adjusted")}),
        ("Note", {"fields": ("note", "metadata")}),
        ("Tax agency", {"fields": TAX_AGENCY_FIELDS}),
        ("History", {"fields": ("finalized_at", "created_at", "updated_at")}),
    ]  # fmt: skip
    draft_fields = ("date", "note", "metadata")
    readonly_fields = fields_but(fieldsets, editable=draft_fields)
    save_model = _draft_save(RetentionForm.update_service)

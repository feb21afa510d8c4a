"""Back-office for invoices, credit and debit notes, and orders.

A finalized document is as immutable here as in the API (G11): its change form is a
read-only view (a POST to it is refused), its lines cannot be added, changed or removed,
and it cannot be deleted. Draft invoices are edited through the same service as the API,
so totals are always the server's.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from billing.admin_lists import BoundedDateHierarchyMixin
from billing.admin_money import MoneyAdminMixin
from billing.admin_services import ServiceSaveAdminMixin
from billing.clock import clock_now_for, real_now
from billing.documents import apply_totals, line_columns
from billing.errors import DomainError, InvalidInput
from billing.models import FiscalDocument
from invoices.api.files import pdf_response
from invoices.mail import invoice_send
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DebitNote,
    DebitNoteLine,
    Invoice,
    InvoiceLine,
    Order,
    OrderItem,
)
from invoices.pdf.render import document_filename
from invoices.pdf.storage import document_pdf
from invoices.services import invoices, notes, orders
from invoices.services.filing import document_retry_submission

DRAFT = "draft"

AMOUNT_FIELDS: tuple[str, ...] = (
    "currency", "discount", "discount_scheme", "custom_change", "amount", "exempt",
    "discount_amount", "subtotal", "tax_percent", "tax", "total", "retention", "total_adjusted",
)  # fmt: skip
TAX_AGENCY_FIELDS: tuple[str, ...] = (
    "biller_status", "tax_agency_tracking_id", "biller_attempts", "biller_next_attempt_at",
    "tax_agency_response",
)  # fmt: skip
LINE_FIELDS: tuple[str, ...] = (
    "position", "name", "description", "code", "quantity", "unit_label", "amount", "exempt",
    "tax_percent", "discount", "discount_scheme", "retention_percent", "total",
)  # fmt: skip


def fields_but(fieldsets: Any, editable: tuple[str, ...]) -> tuple[str, ...]:
    """Every field the fieldsets show, except the editable ones: the read-only fields."""
    return tuple(
        name for _, options in fieldsets for name in options["fields"] if name not in editable
    )


def is_draft(obj: Model | None) -> bool:
    return obj is None or getattr(obj, "status", DRAFT) == DRAFT


_LINE_FIELD = re.compile(r"lines\.(?P<index>\d+)\.(?P<field>\w+)")


def _messages(exc: InvalidInput) -> list[str]:
    return [f"{field}: {' '.join(errors)}" for field, errors in exc.errors.items()]


class LinesFormSet(BaseInlineFormSet):
    """Refuses lines the document's totals cannot be computed from (the service's rules)."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        for form in self.forms:
            # A plan's exact price no longer holds once its unit price or units are edited.
            if {"amount", "quantity"} & set(form.changed_data):
                form.instance.gross = None
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            for index, form in enumerate(kept):
                line = form.instance
                if line.tax_id is not None:
                    # A line priced by a tax rule keeps the rule's percent and exemption,
                    # as the API's lines do.
                    row = {"tax": line.tax, "tax_percent": line.tax_percent, "exempt": line.exempt}
                    line_columns(self.instance, index, row)
            apply_totals(self.instance, [form.instance for form in kept])
        except InvalidInput as exc:
            self._show_on_lines(exc, kept)

    @staticmethod
    def _show_on_lines(exc: InvalidInput, kept: list[forms.ModelForm]) -> None:
        """The service names a line's field as `lines.<index>.<field>`: show it on that
        line's field when the form has it, on the formset otherwise."""
        rest = {}
        for key, errors in exc.errors.items():
            match = _LINE_FIELD.fullmatch(key)
            form = kept[int(match["index"])] if match and int(match["index"]) < len(kept) else None
            if match and form is not None and match["field"] in form.fields:
                form.add_error(match["field"], errors)
            else:
                rest[key] = errors
        if rest:
            raise ValidationError(_messages(InvalidInput(rest)))


class DraftForm(forms.ModelForm):
    """Names the draft's update service; ServiceSaveAdminMixin (on the admins) runs the
    save while the form is validated, so what the service refuses shows on the form."""

    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        raise NotImplementedError


class InvoiceForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        return invoices.invoice_update(invoice=document, **changed)


class NoteForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        if isinstance(document, CreditNote):
            return notes.credit_note_update(credit_note=document, **changed)
        return notes.debit_note_update(debit_note=document, **changed)


class OrderForm(DraftForm):
    @staticmethod
    def update_service(document: Any, changed: dict[str, Any]) -> object:
        return orders.order_update(order=document, now=clock_now_for(document), **changed)


class LineInline(MoneyAdminMixin, admin.TabularInline):
    """Lines are editable while the document is a draft, and only then."""

    extra = 0
    fields = LINE_FIELDS
    readonly_fields = ["total"]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_draft(obj) and super().has_delete_permission(request, obj)


class ReadOnlyLineInline(LineInline):
    """Lines priced by a service this admin does not call: shown, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class InvoiceLineInline(LineInline):
    model = InvoiceLine
    formset = LinesFormSet


class CreditNoteLineInline(ReadOnlyLineInline):
    model = CreditNoteLine


class DebitNoteLineInline(ReadOnlyLineInline):
    model = DebitNoteLine


class OrderItemInline(ReadOnlyLineInline):
    model = OrderItem
    fields = (*LINE_FIELDS, "product_id", "plan_id")


class ImmutableOnceIssuedAdmin(ServiceSaveAdminMixin, MoneyAdminMixin, admin.ModelAdmin):
    """Drafts may change (the fields not in `readonly_fields`); anything else is a view.

    Documents are created through the API, which checks the customer, the document type
    and the currency; so there is no add form.
    """

    list_filter = ["workspace", "test_mode", "status"]
    list_select_related = ["customer", "workspace"]
    search_fields = ["id", "customer__id", "customer__name", "customer__tax_id"]

    @admin.display(description="Mode", ordering="test_mode")
    def mode(self, obj: Any) -> str:
        return "test" if obj.test_mode else "live"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_draft(obj) and super().has_delete_permission(request, obj)


class DocumentAdmin(BoundedDateHierarchyMixin, ImmutableOnceIssuedAdmin):
    list_display = [
        "id", "document", "number", "customer", "date", "total_shown", "status",
        "biller_status", "workspace", "mode",
    ]  # fmt: skip
    # Only the document types in use: every country's types share a few names.
    list_filter = [
        "workspace", "test_mode", "status", "biller_status",
        ("document", admin.RelatedOnlyFieldListFilter),
    ]  # fmt: skip
    list_select_related = ["customer", "workspace", "document"]
    # A support request names the folio, or the tracking id the agency answered with.
    search_fields = [
        *ImmutableOnceIssuedAdmin.search_fields, "number", "tax_agency_tracking_id",
    ]  # fmt: skip
    date_hierarchy = "date"

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        own = [
            path(
                "<path:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name=f"{opts.app_label}_{opts.model_name}_pdf",
            )
        ]
        return own + super().get_urls()

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        document = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, document):
            raise PermissionDenied
        return pdf_response(document_pdf(document=document), document_filename(document))

    @admin.display(description="Tax agency's answer")
    def tax_agency_response(self, obj: FiscalDocument) -> str:
        """The agency's last answer as a table of its fields (nested ones as JSON)."""
        if not obj.tax_agency:
            return "-"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            (
                (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
                for key, value in obj.tax_agency.items()
            ),
        )
        return format_html('<table class="agency-response">{}</table>', rows)

    @admin.display(description="PDF")
    def pdf_link(self, obj: FiscalDocument) -> str:
        opts = obj._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_pdf", args=[obj.pk])
        if obj.finalized_at is None:
            label = "Preview (drafts are not stored)"
        else:
            label = f"Stored PDF ({obj.pdf.name})" if obj.pdf else "PDF (not rendered yet)"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        verb: str,
        call: Callable[[Any], object],
    ) -> None:
        done = 0
        for document in queryset:
            try:
                call(document)
            except DomainError as exc:
                self.message_user(request, f"{document}: {exc.detail}", messages.ERROR)
            except InvalidInput as exc:
                self.message_user(request, f"{document}: {exc.errors}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb}: {done} of {queryset.count()}.", messages.SUCCESS)

    def _retry_submission(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Submission retried",
            # The agency's submissions are scheduled on the real clock (the worker's), in
            # both modes: a retry is due at once, not at a test clock's hour.
            lambda document: document_retry_submission(document=document, now=real_now()),
        )


@admin.register(Invoice)
class InvoiceAdmin(DocumentAdmin):
    form = InvoiceForm
    inlines = [InvoiceLineInline]
    fieldsets = [
        (None, {"fields": (
            "id", "workspace", "test_mode", "customer", "document", "number", "status", "pdf_link",
        )}),
        ("Dates", {"fields": (
            "date", "due_date", "period_start", "period_end", "collection_method",
            "subscription_id",
        )}),
        ("Amounts", {"fields": AMOUNT_FIELDS}),
        ("Note and references", {"fields": ("note", "references", "metadata")}),
        ("Tax agency", {"fields": TAX_AGENCY_FIELDS}),
        ("Stripe", {"fields": (
            "stripe_id", "stripe_status", "stripe_sync_status", "stripe_synced_at",
            "stripe_sync_error", "stripe_hosted_invoice_url", "stripe_invoice_pdf",
        )}),
        ("History", {"fields": (
            "imported", "finalized_at", "sent_at", "uncollectible_at", "paid_at",
            "cancelled_at", "created_at", "updated_at",
        )}),
    ]  # fmt: skip
    # What a draft's owner may change through invoice_update; the rest is always shown only.
    draft_fields = (
        "date", "due_date", "period_start", "period_end", "collection_method", "discount",
        "discount_scheme", "custom_change", "note", "references", "metadata",
    )  # fmt: skip
    readonly_fields = fields_but(fieldsets, editable=draft_fields)
    actions = ["finalize", "send", "toggle_uncollectible", "retry_submission"]
    list_filter = [*DocumentAdmin.list_filter, "stripe_sync_status"]

    def save_model(self, request: HttpRequest, obj: Invoice, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        invoices.invoice_update(invoice=obj, **changed)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        invoices.invoice_update(invoice=form.instance)  # totals from the saved lines

    def delete_model(self, request: HttpRequest, obj: Invoice) -> None:
        invoices.invoice_delete(invoice=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            invoices.invoice_delete(invoice=invoice)

    @admin.action(description="Finalize (number, freeze, submit, render the PDF)")
    def finalize(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._each(
            request,
            queryset,
            "Finalized",
            lambda invoice: invoices.invoice_finalize(invoice=invoice, now=clock_now_for(invoice)),
        )

    @admin.action(description="Send the PDF to the customer's invoicing contacts")
    def send(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._each(
            request,
            queryset.select_related("workspace", "customer", "document"),
            "Sent",
            lambda invoice: invoice_send(invoice=invoice, now=clock_now_for(invoice)),
        )

    @admin.action(description="Mark uncollectible / collectible again")
    def toggle_uncollectible(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._each(
            request,
            queryset,
            "Toggled",
            lambda invoice: invoices.invoice_toggle_uncollectible(
                invoice=invoice, now=clock_now_for(invoice)
            ),
        )

    @admin.action(description="Retry the tax agency submission")
    def retry_submission(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        self._retry_submission(request, queryset)


class NoteAdmin(DocumentAdmin):
    """A draft note's texts and date change through the notes service; its lines are
    priced by that service from the invoice and the reason, so they are shown, not edited."""

    form = NoteForm
    list_display = [
        "id", "document", "number", "invoice", "customer", "date", "total_shown", "status",
        "biller_status", "workspace", "mode",
    ]  # fmt: skip
    list_select_related = ["customer", "workspace", "document", "invoice"]
    search_fields = [*DocumentAdmin.search_fields, "invoice__id"]
    fieldsets = [
        (None, {"fields": (
            "id", "workspace", "test_mode", "invoice", "customer", "document", "number",
            "status", "reason", "description", "pdf_link",
        )}),
        ("Dates", {"fields": ("date",)}),
        ("Amounts", {"fields": AMOUNT_FIELDS}),
        ("Note and references", {"fields": ("note", "references", "metadata")}),
        ("Tax agency", {"fields": TAX_AGENCY_FIELDS}),
        ("History", {"fields": ("finalized_at", "created_at", "updated_at")}),
    ]  # fmt: skip
    draft_fields = ("date", "description", "note", "metadata")
    readonly_fields = fields_but(fieldsets, editable=draft_fields)
    actions = ["finalize", "retry_submission"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        NoteForm.update_service(obj, {name: form.cleaned_data[name] for name in form.changed_data})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        notes.note_delete(note=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for note in queryset:
            notes.note_delete(note=note)

    @admin.action(description="Finalize (number, freeze, submit, render the PDF)")
    def finalize(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(
            request,
            queryset,
            "Finalized",
            lambda note: notes.note_finalize(note=note, now=clock_now_for(note)),
        )

    @admin.action(description="Retry the tax agency submission")
    def retry_submission(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._retry_submission(request, queryset)


@admin.register(CreditNote)
class CreditNoteAdmin(NoteAdmin):
    inlines = [CreditNoteLineInline]


@admin.register(DebitNote)
class DebitNoteAdmin(NoteAdmin):
    inlines = [DebitNoteLineInline]


@admin.register(Order)
class OrderAdmin(ImmutableOnceIssuedAdmin):
    """Orders are priced by their service; here a draft's note may change, nothing else."""

    form = OrderForm
    list_display = ["id", "customer", "status", "total_shown", "invoice", "workspace", "mode"]
    inlines = [OrderItemInline]
    fields = (
        "id", "workspace", "test_mode", "customer", "document", "status", "coupon_id",
        "invoice", "subscription_id", "currency", "discount", "discount_scheme", "amount",
        "exempt", "discount_amount", "subtotal", "tax_percent", "tax", "total", "note",
        "metadata", "created_at", "updated_at",
    )  # fmt: skip
    draft_fields = ("note", "metadata")
    readonly_fields = fields_but([(None, {"fields": fields})], editable=draft_fields)

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        orders.order_update(order=obj, now=clock_now_for(obj), **changed)

    def delete_model(self, request: HttpRequest, obj: Order) -> None:
        orders.order_delete(order=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            orders.order_delete(order=order)

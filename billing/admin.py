import copy
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from billing.admin_records import DeleteUnlessAdminMixin, NoDeleteAdminMixin
from billing.admin_services import ServiceSaveAdminMixin
from billing.auth_cache import api_keys_forget
from billing.clock import clock_now, real_now, workspace_today
from billing.models import (
    ApiToken,
    Certificate,
    Comuna,
    Country,
    Currency,
    DocumentType,
    Event,
    FolioRange,
    Membership,
    State,
    Workspace,
)
from billing.services.folios import folio_range_issued, folios_left
from billing.services.workspaces import (
    api_token_issue,
    workspace_add_member,
    workspace_issuer_errors,
    workspace_member_set_role,
    workspace_remove_member,
    workspace_setup_errors,
)
from billing.tax_ids import InvalidTaxId, normalize_tax_id

# The back office names the product (also in the page titles and on the login page).
admin.site.site_header = "Billing back office"
admin.site.site_title = "Billing back office"
admin.site.index_title = "Workspaces, documents, payments and subscriptions"


class ReferenceDataAdmin(admin.ModelAdmin):
    """Reference data comes with the code, seeded by migrations (countries, states,
    currencies, comunas, fiscal document types): the API, the totals and the numbering
    look it up by code, and issued documents name it. The back office reads it; a
    change is a migration, reviewed with the code that depends on it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    """The workspace's members, listed; each is added, changed and removed on its own
    page, through the services (a workspace keeps an owner)."""

    model = Membership
    extra = 0
    fields = readonly_fields = ("user", "role", "created_at")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WorkspaceAdminForm(forms.ModelForm):
    """Stores the tax id as workspace_create does: validated and normalized."""

    class Meta:
        model = Workspace
        exclude: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        country, tax_id = cleaned.get("country"), cleaned.get("tax_id")
        if country is not None and tax_id:
            try:
                cleaned["tax_id"] = normalize_tax_id(country.code, tax_id)
            except InvalidTaxId as exc:
                self.add_error("tax_id", str(exc))
        # Only a new workspace has them on its form: fixed once created.
        setup = {
            name: cleaned.get(name) for name in ("currency", "timezone") if name in self.fields
        }
        if setup:
            setup_errors = workspace_setup_errors(
                currency=setup.get("currency"), timezone=setup.get("timezone")
            )
            for field, messages in setup_errors.items():
                self.add_error(field, messages)
        if not self.errors:
            # The issuer data as the API checks it (acteco, comuna, the SII's resolution).
            # On a change the form holds only what may change: the rest is the stored one.
            candidate = copy.copy(self.instance)
            for name, value in cleaned.items():
                if name != "members":  # many-to-many: not set on an instance
                    setattr(candidate, name, value)
            for field, messages in workspace_issuer_errors(candidate).items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    form = WorkspaceAdminForm
    list_display = ["id", "name", "country", "currency", "timezone", "created_at"]
    list_filter = ["country"]
    search_fields = ["id", "name", "tax_id"]
    autocomplete_fields = ["comuna"]
    # The test clock only moves forward, through the API's advance (which runs the cycles
    # due on the way); set here it could go back or skip them.
    readonly_fields = ["id", "test_clock_at", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Fixed once created, as in the API (which has no route to change them): the
        # documents' currency and taxes follow the country and currency, and the SII's
        # CAFs and certificates are issued to the tax id. Billing dates and periods are
        # computed in the timezone: a new one would move the dates of issued documents
        # and the bounds of billed cycles, and the next cycle would overlap or skip time.
        if obj is not None:
            return [*self.readonly_fields, "country", "currency", "tax_id", "timezone"]
        return self.readonly_fields


@admin.register(Comuna)
class ComunaAdmin(ReferenceDataAdmin):
    """Reference data, seeded by a migration from billing/data/cl_comunas.csv."""

    list_display = ["code", "name", "region"]
    list_filter = ["region"]
    search_fields = ["code", "name"]


@admin.register(FolioRange)
class FolioRangeAdmin(DeleteUnlessAdminMixin, admin.ModelAdmin):
    """Loaded CAFs (through the API, which checks them); the key is never shown. A range
    is deleted only while none of its folios was issued (a CAF loaded by mistake)."""

    list_display = [
        "id", "workspace", "test_mode", "document_type", "first", "last", "authorized_on",
        "warned_at_remaining",
    ]  # fmt: skip
    list_filter = ["test_mode", "document_type"]
    search_fields = ["id", "workspace__name", "workspace__id"]
    fields = readonly_fields = (
        "id", "workspace", "test_mode", "document_type", "first", "last", "authorized_on",
        "warned_at_remaining", "created_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_refused(self, obj: Any) -> str | None:
        if folio_range_issued(obj):
            return "folios of this range were issued; it stays as the SII authorized it."
        return None

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # Staff see at a glance which types are running out (the event told the workspace),
        # for as long as they are: a type whose next CAF is loaded is no longer short.
        warned = FolioRange.objects.filter(warned_at_remaining__isnull=False).select_related(
            "workspace"
        )
        scopes = {(r.workspace, r.test_mode, r.document_type_id): r for r in warned}
        for (workspace, test_mode, document_type_id), folio_range in scopes.items():
            now = clock_now(workspace=workspace, test_mode=test_mode)
            left = folios_left(
                workspace=workspace,
                test_mode=test_mode,
                document_type_id=document_type_id,
                today=workspace_today(workspace, now),
            )
            if left >= settings.FOLIOS_LOW_THRESHOLD:
                continue
            messages.warning(
                request,
                f"{workspace.pk}: folios of {document_type_id} are running low "
                f"({left} left{' in test mode' if test_mode else ''}, the last range "
                f"{folio_range.first}–{folio_range.last}); load the next CAF.",
            )
        return super().changelist_view(request, extra_context)


@admin.register(Certificate)
class CertificateAdmin(DeleteUnlessAdminMixin, admin.ModelAdmin):
    """Loaded (or sandbox-made) signing certificates; the key is never shown. One that
    has not expired signs documents (now or from its start), so only an expired one may
    be deleted."""

    list_display = ["id", "workspace", "test_mode", "subject", "not_after_at", "is_sandbox"]
    list_filter = ["test_mode", "is_sandbox"]
    search_fields = ["id", "subject", "workspace__name", "workspace__id"]
    fields = readonly_fields = (
        "id", "workspace", "test_mode", "subject", "serial_number", "not_before_at",
        "not_after_at", "is_sandbox", "created_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_refused(self, obj: Any) -> str | None:
        if obj.not_after_at > real_now():
            return "it has not expired and signs documents."
        return None


@admin.register(Membership)
class MembershipAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    """Saved by the workspace services, as the bootstrap saves them: the last owner is
    neither demoted nor removed (only owners set what documents print). A membership
    stays the same user in the same workspace; only its role changes."""

    list_display = ["workspace", "user", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "workspace__name", "workspace__id"]
    autocomplete_fields = ["user", "workspace"]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ["workspace", "user", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        role = form.cleaned_data["role"]
        if change:
            if "role" in form.changed_data:
                workspace_member_set_role(membership=obj, role=role)
            return
        saved = workspace_add_member(
            workspace=form.cleaned_data["workspace"], user=form.cleaned_data["user"], role=role
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        workspace_remove_member(membership=obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by an action that shows the key once; the key is never stored."""

    list_display = ["key_prefix", "user", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "key_prefix"]
    fields = ("user", "key_prefix", "created_at", "revoked_at")
    readonly_fields = fields
    actions = ["issue_new_token", "revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Issue a new token for these users (revokes their current one)")
    def issue_new_token(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for user in {token.user for token in queryset.select_related("user")}:
            issued = api_token_issue(user=user, now=timezone.now())
            self.message_user(
                request,
                f"New token for {user}: {issued.key} — copy it now, it will not be shown again.",
                messages.WARNING,
            )

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        active = queryset.filter(revoked_at__isnull=True)
        api_keys_forget(active.values_list("key_hash", flat=True))
        active.update(revoked_at=timezone.now())


@admin.register(Event)
class EventAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["id", "type", "object_id", "workspace", "test_mode", "created_at"]
    list_filter = ["type", "test_mode", "workspace"]
    search_fields = ["id", "object_id"]
    readonly_fields = ["id", "workspace", "test_mode", "type", "object_id", "data", "created_at"]
    exclude = ["metadata"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DocumentType)
class DocumentTypeAdmin(ReferenceDataAdmin):
    """Folio ranges, numbering and the tax agency's filings hang on a type's code and
    flags, and issued documents name it: shipped with the code, never edited here."""

    list_display = ["id", "code", "name", "country", "tax", "is_sale", "is_purchase"]
    list_filter = ["country", "is_sale", "is_purchase", "hold_taxes"]
    search_fields = ["code", "name"]


admin.site.register(
    Country,
    ReferenceDataAdmin,
    search_fields=["code", "name"],
    list_display=["code", "name", "currency"],
)
admin.site.register(
    State, ReferenceDataAdmin, list_filter=["country"], search_fields=["code", "name"]
)
admin.site.register(Currency, ReferenceDataAdmin, list_display=["code", "name", "minor_units"])

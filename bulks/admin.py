from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.admin_records import NoDeleteAdminMixin
from bulks.models import Bulk, BulkItem


class BulkItemInline(admin.TabularInline):
    model = BulkItem
    extra = 0
    fields = ["position", "status", "object_id", "errors", "processed_at"]
    readonly_fields = ["position", "status", "object_id", "errors", "processed_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Bulk)
class BulkAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "status", "workspace", "test_mode", "created_at"]
    list_filter = ["kind", "status", "test_mode"]
    search_fields = ["id"]
    readonly_fields = ["id", "workspace", "test_mode", "kind", "status", "completed_at"]
    inlines = [BulkItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bulks come from the API, whose worker creates their documents

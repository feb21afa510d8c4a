from django.contrib import admin
from django.http import HttpRequest

from billing.admin_records import NoDeleteAdminMixin
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate


@admin.register(ReminderTemplate)
class ReminderTemplateAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "language", "workspace", "test_mode"]
    list_filter = ["language", "test_mode"]
    search_fields = ["id", "name", "subject"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "days", "template", "active", "workspace", "test_mode"]
    list_filter = ["active", "test_mode"]
    search_fields = ["id", "name"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(ReminderMessage)
class ReminderMessageAdmin(NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = ["id", "rule", "invoice", "status", "sent_at", "workspace", "test_mode"]
    list_filter = ["status", "test_mode"]
    search_fields = ["id", "invoice__id", "rule__id"]
    readonly_fields = [
        "id", "workspace", "test_mode", "rule", "invoice", "recipients", "subject", "body",
        "status", "error", "sent_at", "created_at", "updated_at",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # beat writes them

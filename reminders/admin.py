"""Reminder templates and rules, saved and deleted through the reminder services as the
API saves them: a placeholder that would not render, days out of range, a template a rule
uses or a rule that sent reminders deleted, are refused on the form. Sent reminders are
written by beat; only their metadata changes here, as in the API."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.admin_records import NoDeleteAdminMixin
from billing.admin_services import ServiceModelAdmin
from billing.clock import clock_now, clock_now_for
from reminders import services
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate


@admin.register(ReminderTemplate)
class ReminderTemplateAdmin(ServiceModelAdmin):
    list_display = ["id", "name", "language", "workspace", "test_mode"]
    list_filter = ["workspace", "language", "test_mode"]
    search_fields = ["id", "name", "subject"]
    service_fields = services.TemplateFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> ReminderTemplate:
        return services.template_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: ReminderTemplate, fields: Any) -> ReminderTemplate:
        return services.template_update(template=obj, **fields)

    def service_delete(self, obj: ReminderTemplate) -> None:
        services.template_delete(template=obj)


@admin.register(ReminderRule)
class ReminderRuleAdmin(ServiceModelAdmin):
    list_display = ["id", "name", "days", "template", "active", "workspace", "test_mode"]
    list_filter = ["workspace", "active", "test_mode"]
    search_fields = ["id", "name"]
    service_fields = services.RuleFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> ReminderRule:
        now = clock_now(workspace=workspace, test_mode=test_mode)
        return services.rule_create(workspace=workspace, test_mode=test_mode, now=now, **fields)

    def service_update(self, obj: ReminderRule, fields: Any) -> ReminderRule:
        return services.rule_update(rule=obj, now=clock_now_for(obj), **fields)

    def service_delete(self, obj: ReminderRule) -> None:
        services.rule_delete(rule=obj)


@admin.register(ReminderMessage)
class ReminderMessageAdmin(NoDeleteAdminMixin, ServiceModelAdmin):
    # "Was this customer reminded, and if not, why?": the error column says why a reminder
    # failed or was skipped, and the search finds a customer's reminders.
    list_display = [
        "id", "rule", "invoice", "status", "error", "sent_at", "workspace", "test_mode",
    ]  # fmt: skip
    list_filter = [
        "workspace", "status", ("rule", admin.RelatedOnlyFieldListFilter), "test_mode",
    ]  # fmt: skip
    list_select_related = ["rule", "invoice", "workspace"]
    search_fields = [
        "id", "invoice__id", "rule__id", "invoice__customer__id", "invoice__customer__name",
        "invoice__customer__tax_id",
    ]  # fmt: skip
    service_fields = services.MessageFields.__annotations__

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # beat writes them

    def service_update(self, obj: ReminderMessage, fields: Any) -> ReminderMessage:
        return services.message_update(message=obj, **fields)

"""Meters, features, usage records, and events (read-only, searchable by customer and
event_id). A meter's page shows each customer's usage this month, the workspace's."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from billing.admin_money import MoneyAdminMixin
from billing.admin_services import ServiceModelAdmin
from billing.clock import clock_now_for, local_date
from metering.models import Event, Feature, Meter, UsageRecord
from metering.selectors import meter_spec
from metering.services import meters
from metering.store import Tenant, event_store
from metering.store.partitions import month_start
from subscriptions.calendar import local_midnight

TOP_CUSTOMER_KEYS = 50


class ReadOnlyAdmin(MoneyAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Meter)
class MeterAdmin(ServiceModelAdmin):
    """Meters change and are deleted through the meter services: what a meter a plan
    prices by counts stays as it is, and a meter in use is not deleted (409 in the API)."""

    list_display = ["id", "name", "event_name", "aggregation", "field", "workspace", "test_mode"]
    list_filter = ["aggregation", "test_mode"]
    search_fields = ["id", "name", "event_name"]
    readonly_fields = ("id", "created_at", "updated_at", "usage_this_month")
    service_fields = meters.MeterFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Meter:
        return meters.meter_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Meter, fields: Any) -> Meter:
        return meters.meter_update(meter=obj, **fields)

    def service_delete(self, obj: Meter) -> None:
        meters.meter_delete(meter=obj)

    @admin.display(description="Usage this month, per customer key (top 50)")
    def usage_this_month(self, meter: Meter) -> str:
        if meter.pk is None:
            return "-"
        # The meter as stored: a refused form leaves its posted values on `meter`.
        meter = Meter.objects.get(pk=meter.pk)
        now = clock_now_for(meter)
        # The workspace's month, as its periods and usage days are.
        timezone_name = meter.workspace.timezone
        start = local_midnight(month_start(local_date(now, timezone_name)), timezone_name)
        rows = event_store().top_customer_keys(
            tenant=Tenant(workspace_id=meter.workspace_id, test_mode=meter.test_mode),
            meter=meter_spec(meter),
            start=start,
            end=now,
            limit=TOP_CUSTOMER_KEYS,
        )
        if not rows:
            return "No events this month."
        return format_html_join("", "<div>{}: {}</div>", ((row.group, row.value) for row in rows))


@admin.register(Feature)
class FeatureAdmin(ServiceModelAdmin):
    list_display = ["id", "key", "name", "feature_type", "meter", "workspace", "test_mode"]
    list_filter = ["feature_type", "test_mode"]
    search_fields = ["id", "key", "name"]
    raw_id_fields = ["meter"]
    service_fields = meters.FeatureFields.__annotations__

    def service_create(self, *, workspace: Any, test_mode: bool, fields: Any) -> Feature:
        return meters.feature_create(workspace=workspace, test_mode=test_mode, **fields)

    def service_update(self, obj: Feature, fields: Any) -> Feature:
        return meters.feature_update(feature=obj, **fields)

    def service_delete(self, obj: Feature) -> None:
        meters.feature_delete(feature=obj)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "event_name", "customer_key", "timestamp", "workspace", "test_mode"]
    list_filter = ["test_mode"]
    search_fields = ["=event_id", "=customer_key", "event_name"]
    show_full_result_count = False  # a count over millions of events is not worth it


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "subscription", "plan", "quantity_shown", "date_time", "creation_scheme",
    ]  # fmt: skip
    search_fields = ["=id", "=subscription__id"]

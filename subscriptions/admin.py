"""Back office: subscriptions with their lines, removed lines whose usage is still to
bill, add-ons and billed periods; actions that call the same services as the API, each
on the subscription's tenant clock."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from billing.admin_services import ServiceSaveAdminMixin
from billing.clock import clock_now, clock_now_for
from billing.errors import DomainError, InvalidInput
from subscriptions import services
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import (
    BilledPeriod,
    EndedLine,
    Subscription,
    SubscriptionAddOn,
    SubscriptionLine,
    TestClockJob,
)
from subscriptions.services.clocks import clock_job_progress


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LineInline(ReadOnlyInline):
    model = SubscriptionLine
    fields = ("plan", "quantity", "coupon", "coupon_first_cycle")
    readonly_fields = fields


class EndedLineInline(ReadOnlyInline):
    """Metered lines removed in the running period, their usage still to bill."""

    model = EndedLine
    verbose_name_plural = "removed lines with usage to bill"
    fields = ("plan", "coupon", "usage_start", "ended_at", "ended_on")
    readonly_fields = fields


class AddOnInline(ReadOnlyInline):
    model = SubscriptionAddOn
    fields = ("addon", "quantity", "first_cycle")
    readonly_fields = fields


class BilledPeriodInline(ReadOnlyInline):
    model = BilledPeriod
    fields = (
        "cycle", "period_start", "period_end", "invoice", "collection_status",
        "collection_attempts", "next_attempt_at", "last_error",
    )  # fmt: skip
    readonly_fields = fields


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "needs_attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Needs attention"), ("no", "Does not")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(status=SubscriptionStatus.NEEDS_ATTENTION)
        if self.value() == "no":
            return queryset.exclude(status=SubscriptionStatus.NEEDS_ATTENTION)
        return queryset


def _each(
    request: HttpRequest,
    queryset: QuerySet,
    verb: str,
    call: Callable[..., Any],
    model_admin: admin.ModelAdmin,
) -> None:
    done = 0
    for subscription in queryset.select_related("workspace"):
        now = clock_now(workspace=subscription.workspace, test_mode=subscription.test_mode)
        try:
            call(subscription=subscription, now=now)
            done += 1
        except (DomainError, InvalidInput) as exc:
            model_admin.message_user(request, f"{subscription.id}: {exc}", messages.ERROR)
    if done:
        model_admin.message_user(request, f"{verb} {done} subscription(s).", messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(ServiceSaveAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "customer", "status", "needs_attention_reason", "frequency", "next_billing",
        "previous_billing", "collection_scheme", "orgunit", "workspace", "test_mode",
    ]  # fmt: skip
    # The branch is nullable: a bare select_related() would leave it to a query per row.
    list_select_related = ["customer", "orgunit", "workspace"]
    list_filter = [NeedsAttentionFilter, "status", "frequency", "collection_scheme", "test_mode"]
    search_fields = ["id", "customer__name", "customer__tax_id", "note"]
    inlines = [LineInline, EndedLineInline, AddOnInline, BilledPeriodInline]
    actions = ["pause", "resume", "process", "cancel"]
    # Billing state moves only through the services (the actions below); billing terms
    # change through the API's update, which checks them against the cycles already
    # billed and the collection source; the scheduler's own columns (enqueued_at,
    # needs_attention_at) are its own. Only the note printed on its invoices is edited,
    # and a field added to the model is read-only here until it is decided otherwise.
    readonly_fields = [field.name for field in Subscription._meta.fields if field.name != "note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which validates plans, coupons and dates

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        # The API's update: a subscription that ended (cancelled, expired) keeps its note.
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            services.subscription_update(subscription=obj, now=clock_now_for(obj), **changed)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cancelled, never deleted: invoices point at it

    @admin.action(description="Pause")
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, "Paused", services.subscription_pause, self)

    @admin.action(description="Resume")
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, "Resumed", services.subscription_resume, self)

    @admin.action(description="Bill the due cycle now")
    def process(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, "Billed", services.subscription_process, self)

    @admin.action(description="Cancel now")
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, "Cancelled", services.subscription_cancel, self)


@admin.register(TestClockJob)
class TestClockJobAdmin(admin.ModelAdmin):
    """Advances of test clocks run by a worker, with how far each has got: a view only
    (they are started through the API)."""

    list_display = ["id", "workspace", "status", "progress", "advance_to", "created_at"]
    list_filter = ["status"]
    list_select_related = ["workspace"]
    fields = (
        "id", "workspace", "status", "progress", "started_from", "advance_to", "error_code",
        "error_detail", "created_at", "finished_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="Progress")
    def progress(self, obj: TestClockJob) -> str:
        done = clock_job_progress(obj)
        return format_html(
            '<progress value="{}" max="1" title="{}">{}</progress> {}',
            f"{done:.3f}", f"{done:.0%}", f"{done:.0%}", f"{done:.0%}",
        )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Subscriptions: what a customer pays for every period, and the periods already billed.

A subscription bills in advance: on each boundary (`next_billing`, a local date of the
workspace) it issues one invoice for the period that starts there. `BilledPeriod` is the
ledger of issued periods; its unique (subscription, period_start) is what makes a period
billed at most once, whoever runs the cycle and however often (rules.md §6, G4).
"""

from decimal import Decimal

from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field
from billing.models import LoadedPlainly, TenantModel, quantity_field
from catalog.choices import PlanFrequency
from subscriptions.choices import (
    CYCLE_DUE,
    BilledKind,
    CancelReason,
    CollectionScheme,
    CollectionStatus,
    NeedsAttentionReason,
    PausedReason,
    SubscriptionStatus,
)


class Subscription(LoadedPlainly, TenantModel):
    id = public_id_field("sub")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    # The type of the invoices it generates. Neither key is indexed: no read looks
    # subscriptions up by them, and every billing cycle's update would write an entry into
    # each index (migration 0012).
    document = models.ForeignKey(
        "billing.DocumentType", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    currency = models.ForeignKey(
        "billing.Currency", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The branch (sucursal) its invoices are issued from (Piriod's subscription `orgunit`):
    # every invoice it generates names it. A branch a subscription names cannot be deleted.
    orgunit = models.ForeignKey(
        "organization.OrgUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Every line's plan bills at this frequency.
    frequency = models.CharField(max_length=16, choices=PlanFrequency.choices)
    date_start = models.DateField()
    trial_end = models.DateField(null=True, blank=True)
    # Boundaries are counted from here (calendar.py); the day of month it keeps.
    billing_anchor = models.DateField()
    # The next boundary to bill, a local date; null once nothing more will be billed.
    next_billing = models.DateField(null=True, blank=True)
    # The instant `next_billing` begins in the workspace's timezone: what beat compares.
    next_billing_at = models.DateTimeField(null=True, blank=True)
    # Set while beat's message to bill it is on the broker (billing/sweeps.py).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    previous_billing = models.DateField(null=True, blank=True)
    # Cycles billed so far; null billing_cycles bills until cancelled.
    cycles_billed = models.PositiveIntegerField(default=0)
    billing_cycles = models.PositiveIntegerField(null=True, blank=True)
    expiration_days = models.PositiveIntegerField(default=10)
    collection_scheme = models.CharField(
        max_length=16, choices=CollectionScheme.choices, default=CollectionScheme.SEND_INVOICE
    )
    default_source = models.ForeignKey(
        "payments.Source", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    custom_change = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal(1))
    # A coupon on the whole invoice, counted from `coupon_first_cycle`.
    coupon = models.ForeignKey(
        "catalog.Coupon", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    coupon_first_cycle = models.PositiveIntegerField(default=1)
    require_reference = models.BooleanField(default=False)
    note = models.CharField(max_length=100, blank=True)
    references = models.JSONField(
        encoder=JSONEncoder, decoder=JSONDecoder, default=list, blank=True
    )
    status = models.CharField(
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
        db_index=True,
    )
    status_description = models.CharField(max_length=256, blank=True)
    # Unset choices are null, as the API shows every optional choice.
    needs_attention_reason = models.CharField(  # noqa: DJ001
        max_length=32, choices=NeedsAttentionReason.choices, null=True, blank=True
    )
    # When billing stopped for someone to look (Piriod's `needs_attention`); null otherwise.
    needs_attention_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(  # noqa: DJ001
        max_length=32, choices=CancelReason.choices, null=True, blank=True
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # The day a cancellation at period end takes effect (the end of the period running
    # when it was asked for). Periods held before it while the subscription needed
    # attention are still billed, so next_billing may come before it.
    cancel_at = models.DateField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(  # noqa: DJ001
        max_length=32, choices=PausedReason.choices, null=True, blank=True
    )
    pause_until = models.DateField(null=True, blank=True)
    # When a pause ends by itself (pause_until's local midnight).
    resume_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["workspace", "test_mode", "-created_at"]),
            # In the order due subscriptions are billed (selectors.DUE_ORDER): a batch
            # reads its first rows off the index and stops, however many more are due.
            models.Index(
                fields=["next_billing_at", "id"], condition=CYCLE_DUE, name="subscription_due_idx"
            ),
            models.Index(
                fields=["resume_at"],
                condition=models.Q(status=SubscriptionStatus.PAUSED),
                name="subscription_resume_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(custom_change__gte=1), name="subscription_custom_change_min"
            ),
            models.CheckConstraint(
                condition=models.Q(billing_cycles__isnull=True) | models.Q(billing_cycles__gte=1),
                name="subscription_billing_cycles_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class SubscriptionLine(LoadedPlainly, models.Model):
    """A plan × quantity, with an optional coupon on this line alone."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="lines")
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field(default=Decimal(1))
    coupon = models.ForeignKey(
        "catalog.Coupon", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The cycle the line's coupon was applied from: its duration counts from there.
    coupon_first_cycle = models.PositiveIntegerField(default=1)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="subscription_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} × {self.quantity}"


class EndedLine(LoadedPlainly, models.Model):
    """A metered line removed mid-period. Its usage from the period's start to `ended_at`
    is still owed: the next invoice bills it (the next cycle's, or the final one of a
    cancellation), as Stripe bills a removed item's usage at the period's end; the row
    goes with that invoice."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="ended_lines"
    )
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="+")
    coupon = models.ForeignKey(
        "catalog.Coupon", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    coupon_first_cycle = models.PositiveIntegerField(default=1)
    # The billed period's start (a local date), and when the line went (and its local day).
    usage_start = models.DateField()
    ended_at = models.DateTimeField()
    ended_on = models.DateField()

    class Meta:
        ordering = ["ended_at", "id"]

    def __str__(self) -> str:
        return f"{self.plan_id} until {self.ended_at}"


class PausedSpan(models.Model):
    """A time a subscription was paused, [paused_at, resumed_at); resumed_at null while it
    is. Metered usage recorded then is never billed (rules.md §6: no back-billing of
    paused periods), so every cycle leaves these spans out of the windows it counts."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="paused_spans"
    )
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["paused_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resumed_at__isnull=True)
                | models.Q(resumed_at__gte=models.F("paused_at")),
                name="paused_span_not_reversed",
            ),
            # One pause at a time.
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(resumed_at__isnull=True),
                name="paused_span_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} paused [{self.paused_at}, {self.resumed_at})"


class SubscriptionAddOn(LoadedPlainly, models.Model):
    """An add-on billed by its apply scheme: one_time on one cycle, recurring on
    `duration_times` cycles (or every cycle), counted from `first_cycle`."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="addons")
    addon = models.ForeignKey("catalog.AddOn", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field(default=Decimal(1))
    first_cycle = models.PositiveIntegerField(default=1)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="subscription_addon_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.addon_id} × {self.quantity}"


class BilledPeriod(models.Model):
    """One billed cycle (or a mid-period change's proration): its period, its invoice,
    and the collection that follows.

    Written in the transaction that creates the invoice. Collection (charging the source
    or emailing the invoice) happens after commit and keeps its progress here, so it can
    be resumed and is never done twice. A proration bills part of a cycle already billed,
    so only cycles are unique per period start.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="billed_periods"
    )
    kind = models.CharField(max_length=16, choices=BilledKind.choices, default=BilledKind.CYCLE)
    cycle = models.PositiveIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="billed_period"
    )
    collection_status = models.CharField(
        max_length=16, choices=CollectionStatus.choices, default=CollectionStatus.PENDING
    )
    collection_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Until when an attempt in progress holds the period, on the real clock: a test clock
    # jumps ahead by days, and a lease read on it would expire while the charge or the
    # email it guards is still being made, letting a second attempt make it again.
    leased_until = models.DateTimeField(null=True, blank=True)
    # Retries are counted from the first failed attempt, so a late one does not delay the
    # rest of the schedule.
    first_failed_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=models.Q(kind=BilledKind.CYCLE),
                name="billed_period_once",
            ),
            # A subscription ends once: its last period's usage is billed once.
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(kind=BilledKind.FINAL),
                name="billed_period_final_once",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")),
                name="billed_period_not_empty",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(collection_status__in=["pending", "review"]),
                name="billed_period_collect_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} [{self.period_start}, {self.period_end})"


class TestClockJob(TenantModel):
    """An advance of the test clock run by a worker (`Prefer: respond-async`): a long
    advance outlives a proxy's timeout, so the request answers 202 and this is polled."""

    id = public_id_field("tcj")
    status = models.CharField(max_length=16, default="running")  # running, succeeded, failed
    started_from = models.DateTimeField()
    advance_to = models.DateTimeField()
    error_code = models.CharField(max_length=64, blank=True)
    error_detail = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a worker took it up; a job still without it after its grace lost its message
    # (the broker was down) and beat queues it again, claiming it with enqueued_at.
    started_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.id} → {self.advance_to:%Y-%m-%d %H:%M} ({self.status})"

"""The back office's dashboard (/admin/dashboard/, staff only): revenue by month,
invoices by status, payments succeeded against failed, MRR and churn, and usage by
meter, in live mode.

It reads invoices, payments, subscriptions and metering, so it lives here with the URLs, above
every app. The numbers are computed here; the page draws them with Chart.js, served
from our own static files (no CDN) and fed by `json_script` (no inline code)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from itertools import pairwise
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.clock import real_now
from billing.money import round_amount
from billing.money_display import format_money
from catalog.choices import PlanFrequency, UsageScheme
from customers.models import Customer, FormerReference
from invoices.models import Invoice
from metering.selectors import meter_queryset, meter_spec
from metering.store import Tenant, Window, event_store
from metering.store.partitions import month_start
from payments.models import Payment
from subscriptions.choices import SubscriptionStatus
from subscriptions.models import Subscription, SubscriptionLine
from subscriptions.pricing import plan_price

# Invoices that count as revenue: issued and not annulled.
REVENUE_STATUSES = ["finalized", "pending", "paid", "uncollectible"]
USAGE_MONTHS = 6
# A month's recurring revenue is a year's / 12: counting periods per year keeps every
# frequency exact until the one division (12/52 of a month per week is not a decimal).
PERIODS_PER_YEAR = {
    PlanFrequency.WEEKLY: 52,
    PlanFrequency.MONTHLY: 12,
    PlanFrequency.QUARTERLY: 4,
    PlanFrequency.BIANNUAL: 2,
    PlanFrequency.ANNUAL: 1,
}


def revenue_by_month(now: datetime) -> dict[str, list[Any]]:
    """Totals of the last twelve months' invoices, per currency, exact (Decimals, sent as
    text: a float drops the digits of a large total). The page draws each currency on
    its own axis."""
    rows = (
        Invoice.objects.filter(
            test_mode=False,
            status__in=REVENUE_STATUSES,
            date__gte=(now - timedelta(days=365)).date(),
        )
        .annotate(month=TruncMonth("date"))
        .values("month", "currency_id")
        .annotate(total=Sum("total"))
        .order_by("month")
    )
    months = sorted({row["month"].strftime("%Y-%m") for row in rows})
    series: dict[str, list[Decimal]] = {}
    for row in rows:
        values = series.setdefault(row["currency_id"], [Decimal(0)] * len(months))
        values[months.index(row["month"].strftime("%Y-%m"))] = row["total"]
    return {
        "labels": months,
        "series": [
            # `shown`: each total as money in its currency, for the tooltip.
            {"label": c, "data": v, "shown": [format_money(total, c) for total in v]}
            for c, v in series.items()
        ],
    }


def invoices_by_status() -> dict[str, list[Any]]:
    rows = Invoice.objects.filter(test_mode=False).values("status").annotate(n=Count("id"))
    rows = rows.order_by("status")
    return {"labels": [r["status"] for r in rows], "data": [r["n"] for r in rows]}


def payments_by_outcome(now: datetime) -> dict[str, int]:
    counts = Payment.objects.filter(
        test_mode=False, created_at__gte=now - timedelta(days=30)
    ).aggregate(
        succeeded=Count("id", filter=Q(status="succeeded")),
        failed=Count("id", filter=Q(status="failed")),
    )
    return {"succeeded": counts["succeeded"], "failed": counts["failed"]}


def monthly_recurring_revenue() -> dict[str, Decimal]:
    """What the active subscriptions' licensed plans bill in a month, per currency, summed
    exactly and rounded once to the currency. A metered plan bills the usage reported
    in its period, which is no recurring revenue, whatever its line's quantity."""
    yearly: dict[str, Decimal] = {}
    lines = SubscriptionLine.objects.filter(
        subscription__test_mode=False,
        subscription__status=SubscriptionStatus.ACTIVE,
        plan__usage_scheme=UsageScheme.LICENSED,
    ).select_related("plan", "subscription")
    with localcontext(prec=80):
        for line in lines:
            price = plan_price(line.plan, line.quantity)
            gross = price["gross"]
            if gross is None:  # a flat plan: its unit amount times the quantity
                gross = price["amount"] * line.quantity
            per_year = PERIODS_PER_YEAR[PlanFrequency(line.plan.frequency)]
            currency = line.subscription.currency_id
            yearly[currency] = yearly.get(currency, Decimal(0)) + gross * per_year
        return {currency: round_amount(total / 12, currency) for currency, total in yearly.items()}


def churn(now: datetime) -> dict[str, Any]:
    """Subscriptions cancelled in the last 30 days, against those active then."""
    since = now - timedelta(days=30)
    live = Subscription.objects.filter(test_mode=False)
    cancelled = live.filter(cancelled_at__gte=since).count()
    active = live.filter(status=SubscriptionStatus.ACTIVE).count()
    base = active + cancelled
    return {"cancelled": cancelled, "active": active, "rate": cancelled / base if base else 0.0}


def _month_windows(today: date, keys: tuple[str, ...]) -> list[Window]:
    firsts = [month_start(today, -back) for back in range(USAGE_MONTHS - 1, -2, -1)]
    return [
        Window(
            key=f"{start:%Y-%m}",
            customer_keys=keys,
            start=datetime.combine(start, time(), UTC),
            end=datetime.combine(end, time(), UTC),
        )
        for start, end in pairwise(firsts)
    ]


def usage_by_meter(now: datetime) -> dict[str, list[Any]]:
    """Each live meter's value per month (UTC) over the last six months, aggregated as
    the meter says across its workspace's customers; one query per meter. Values are
    exact (Decimals, sent as text, as revenue is); the page draws each meter on its own
    axis."""
    months = [w.key for w in _month_windows(now.date(), ())]
    series: list[dict[str, Any]] = []
    meters = meter_queryset().filter(test_mode=False).select_related("workspace")
    keys_by_workspace: dict[str, tuple[str, ...]] = {}
    for meter in meters.order_by("workspace__name", "name"):
        keys = keys_by_workspace.get(meter.workspace_id)
        if keys is None:
            # Events name a customer by its id or its reference.
            rows = Customer.objects.filter(workspace_id=meter.workspace_id, test_mode=False)
            pairs = rows.values_list("id", "reference")
            former = FormerReference.objects.filter(
                workspace_id=meter.workspace_id, test_mode=False
            ).values_list("reference", flat=True)
            keys = (*(k for pair in pairs for k in pair if k), *former)
            keys_by_workspace[meter.workspace_id] = keys
        values = event_store().usage_windows(
            tenant=Tenant(workspace_id=meter.workspace_id, test_mode=False),
            meter=meter_spec(meter),
            windows=_month_windows(now.date(), keys),
        )
        series.append(
            {
                "label": f"{meter.name} ({meter.workspace.name})",
                # Exact, without the column's padding (`3.75`, not `3.750000`).
                "data": [f"{values[month].normalize():f}" for month in months],
            }
        )
    return {"labels": months, "series": series}


@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = real_now()
    rate = churn(now)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "mrr": [(c, format_money(v, c)) for c, v in sorted(monthly_recurring_revenue().items())],
        "churn": rate,
        "churn_percent": f"{rate['rate']:.1%}",
        "charts": {
            "revenue": revenue_by_month(now),
            "invoices": invoices_by_status(),
            "payments": payments_by_outcome(now),
            "usage": usage_by_meter(now),
        },
    }
    return render(request, "admin/billing/dashboard.html", context)

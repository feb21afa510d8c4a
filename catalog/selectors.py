"""Catalog reads: querysets with what their representations read, in a fixed number of
queries, and the coupon lookup by code."""

from datetime import date

from django.db.models import Prefetch, QuerySet

from billing.errors import DomainError
from billing.models import Workspace
from catalog.choices import CatalogStatus
from catalog.models import AddOn, Coupon, Plan, PlanTier, Product, Tax


def product_queryset() -> QuerySet[Product]:
    # A product shows the ids of its plans, oldest first.
    plans = Plan.objects.only("id", "product_id", "created_at").order_by("created_at", "id")
    return Product.objects.prefetch_related(Prefetch("plans", queryset=plans))


def plan_queryset() -> QuerySet[Plan]:
    return Plan.objects.select_related("currency").prefetch_related(
        Prefetch("tiers", queryset=PlanTier.objects.order_by("position"))
    )


def addon_queryset() -> QuerySet[AddOn]:
    return AddOn.objects.select_related("currency")


def coupon_queryset() -> QuerySet[Coupon]:
    return Coupon.objects.select_related("currency")


def tax_queryset() -> QuerySet[Tax]:
    return Tax.objects.select_related("country")


def plan_unsellable(plan: Plan) -> str | None:
    """Why `plan` cannot be put on a new order or subscription: it is archived, or its
    product is (archiving a product stops the sale of its plans, as it stops new plans
    under it); None when it can. Reads `plan.product`: select it with the plan."""
    if plan.status != CatalogStatus.ACTIVE:
        return f"Plan {plan.pk} is archived."
    if plan.product.status != CatalogStatus.ACTIVE:
        return f"Plan {plan.pk} is of product {plan.product_id}, which is archived."
    return None


def coupon_redeemable(*, workspace: Workspace, test_mode: bool, code: str, today: date) -> Coupon:
    """The tenant's coupon with this code (in any case), if a customer may redeem it today.

    No such coupon, or an archived one, is `coupon_invalid` (404); one whose
    `valid_until` day has passed in the workspace's calendar is `coupon_expired` (409),
    one redeemed `max_redemptions` times `coupon_exhausted` (409).
    """
    coupon = (
        coupon_queryset()
        .filter(workspace=workspace, test_mode=test_mode, code__iexact=code)
        .first()
    )
    if coupon is None or coupon.status != CatalogStatus.ACTIVE:
        raise DomainError(
            "coupon_invalid", f"No active coupon has the code {code}.", status_code=404
        )
    if coupon.valid_until_date is not None and coupon.valid_until_date < today:
        raise DomainError(
            "coupon_expired", f"The coupon {code} expired after {coupon.valid_until_date}."
        )
    coupon_check_left(coupon)
    return coupon


def coupon_check_left(coupon: Coupon) -> None:
    """`coupon_exhausted` (409) when the coupon was redeemed as often as it allows."""
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise DomainError(
            "coupon_exhausted",
            f"The coupon {coupon.code or coupon.pk} has been redeemed as often as it allows.",
        )

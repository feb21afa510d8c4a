"""What a subscription bills with keeps its price: the catalog refuses to change the
fields that price a plan, add-on or coupon a live subscription uses."""

from decimal import Decimal

import pytest

from billing.errors import DomainError
from billing.models import Currency
from catalog import services as catalog
from catalog.pricing import Tier
from subscriptions.models import Subscription, SubscriptionAddOn, SubscriptionLine
from subscriptions.tests.factories import SubscriptionFactory
from subscriptions.tests.helpers import addon_of, coupon_of, santiago, workspace_at
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db

NOW = santiago(2026, 3, 10, 9, 0)


@pytest.fixture
def subscription() -> Subscription:
    return SubscriptionFactory(workspace=workspace_at(NOW), test_mode=True)


def _line(subscription: Subscription) -> SubscriptionLine:
    return subscription.lines.get()


@pytest.mark.parametrize(
    "fields",
    [
        {"currency_id": "USD", "amount": Decimal("9.99"), "frequency": "annual"},
        {"amount": Decimal(12000)},
        {"frequency": "annual"},
        {"package_size": 10},
        {"usage_scheme": "metered"},
    ],
)
def test_a_plan_a_subscription_bills_with_keeps_its_price(subscription, fields) -> None:
    plan = _line(subscription).plan
    if "currency_id" in fields:
        fields = {**fields, "currency": _currency(fields.pop("currency_id"))}
    with pytest.raises(DomainError) as excinfo:
        catalog.plan_update(plan=plan, **fields)
    assert excinfo.value.code == "plan_in_use"
    assert subscription.id in excinfo.value.detail
    plan.refresh_from_db()
    assert (plan.currency_id, plan.amount, plan.frequency) == ("CLP", 10000, "monthly")


def test_a_plan_in_use_keeps_its_tiers(subscription) -> None:
    plan = _line(subscription).plan
    with pytest.raises(DomainError) as excinfo:
        catalog.plan_update(plan=plan, tiers_mode="unit", tiers=[Tier(None, Decimal(5))])
    assert excinfo.value.code == "plan_in_use"


def test_a_plan_in_use_takes_a_new_name_and_its_own_price_back(subscription) -> None:
    plan = _line(subscription).plan
    updated = catalog.plan_update(
        plan=plan, name="Pro 2026", metadata={"crm": "1"}, amount=Decimal("10000.000000"),
        currency=_currency("CLP"), frequency="monthly", tiers=[], tiers_mode=None,
    )  # fmt: skip
    assert (updated.name, updated.amount) == ("Pro 2026", 10000)


def test_a_plan_of_a_cancelled_subscription_changes_freely(subscription) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(status="cancelled")
    updated = catalog.plan_update(plan=_line(subscription).plan, amount=Decimal(12000))
    assert updated.amount == 12000


def test_a_coupon_a_subscription_bills_with_keeps_its_discount(subscription) -> None:
    coupon = coupon_of(subscription.workspace)
    Subscription.objects.filter(pk=subscription.pk).update(coupon=coupon)
    with pytest.raises(DomainError) as excinfo:
        catalog.coupon_update(
            coupon=coupon, discount_scheme="$", amount=Decimal("3.5"), currency=_currency("USD")
        )
    assert excinfo.value.code == "coupon_in_use"
    updated = catalog.coupon_update(coupon=coupon, name="Welcome", amount=Decimal(10))
    assert (updated.name, updated.discount_scheme, updated.amount) == ("Welcome", "%", 10)


def test_a_line_coupon_in_use_keeps_its_duration(subscription) -> None:
    coupon = coupon_of(subscription.workspace)
    SubscriptionLine.objects.filter(subscription=subscription).update(coupon=coupon)
    with pytest.raises(DomainError) as excinfo:
        catalog.coupon_update(coupon=coupon, duration_scheme="forever")
    assert excinfo.value.code == "coupon_in_use"


def test_an_addon_a_subscription_bills_with_keeps_its_price(subscription) -> None:
    addon = addon_of(subscription.workspace)
    SubscriptionAddOn.objects.create(subscription=subscription, addon=addon)
    with pytest.raises(DomainError) as excinfo:
        catalog.addon_update(addon=addon, currency=_currency("USD"), amount=Decimal(5))
    assert excinfo.value.code == "addon_in_use"
    assert catalog.addon_update(addon=addon, name="Soporte").name == "Soporte"


def test_patching_the_price_of_a_plan_in_use_is_a_409() -> None:
    tester = make_tenant(test_mode=True)
    subscription = SubscriptionFactory(workspace=tester.workspace, test_mode=True)
    plan = _line(subscription).plan
    response = tester.client.patch(
        f"/plans/{plan.id}/",
        {"currency": "USD", "amount": "9.99", "frequency": "annual"},
        format="json",
    )
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "plan_in_use"
    shown = tester.client.get(f"/plans/{plan.id}/").json()
    put_back = {
        name: shown[name] for name in ("product", "name", "frequency", "currency", "amount")
    }
    response = tester.client.put(f"/plans/{plan.id}/", put_back, format="json")
    assert response.status_code == 200, response.json()


def _currency(code: str) -> Currency:
    return Currency.objects.get(pk=code)

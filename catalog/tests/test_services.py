import functools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.errors import DomainError, InvalidInput
from billing.models import Country, Currency
from billing.tests.factories import WorkspaceFactory
from catalog import selectors, services
from catalog.choices import CatalogStatus
from catalog.models import Coupon, Plan, PlanTier, Product, Tax
from catalog.pricing import Tier, plan_line_price
from catalog.tests.factories import (
    AddOnFactory,
    CouponFactory,
    PlanFactory,
    ProductFactory,
    TaxFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
TIERS = [Tier(5, D(7)), Tier(10, D("6.5")), Tier(None, D(6), D(100))]


@pytest.fixture
def workspace():
    return WorkspaceFactory(country_id="CL", currency="CLP")


@pytest.fixture
def product(workspace):
    return ProductFactory(workspace=workspace)


def create_plan(workspace, product, **fields):
    fields.setdefault("name", "Pro")
    fields.setdefault("amount", D(10000))
    return services.plan_create(workspace=workspace, test_mode=False, product=product, **fields)


def field_errors(excinfo):
    return excinfo.value.errors


# Products


def test_product_create_and_update(workspace):
    product = services.product_create(
        workspace=workspace, test_mode=True, name="Fonts", unit_label="font"
    )

    updated = services.product_update(product=product, name="Web fonts", sku="WF-1")

    assert (updated.name, updated.sku, updated.unit_label) == ("Web fonts", "WF-1", "font")
    assert (updated.workspace, updated.test_mode, updated.status) == (
        workspace, True, CatalogStatus.ACTIVE,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("archive", "unarchive", "model", "factory"),
    [
        (
            functools.partial(services.product_archive, now=NOW),
            services.product_unarchive,
            "product",
            ProductFactory,
        ),
        (services.plan_archive, services.plan_unarchive, "plan", PlanFactory),
        (services.addon_archive, services.addon_unarchive, "addon", AddOnFactory),
        (services.coupon_archive, services.coupon_unarchive, "coupon", CouponFactory),
    ],
)
def test_archive_and_unarchive_follow_the_transitions(
    workspace, archive, unarchive, model, factory
):
    obj = factory(workspace=workspace)

    archived = archive(**{model: obj})
    with pytest.raises(DomainError) as twice:
        archive(**{model: archived})
    unarchived = unarchive(**{model: archived})
    with pytest.raises(DomainError) as active_again:
        unarchive(**{model: unarchived})

    assert archived.status == CatalogStatus.ARCHIVED
    assert unarchived.status == CatalogStatus.ACTIVE
    assert twice.value.code == active_again.value.code == f"{model}_invalid_transition"
    assert twice.value.status_code == 409


def test_a_product_keeps_when_it_was_archived_until_unarchived(product):
    archived = services.product_archive(product=product, now=NOW)
    stored = Product.objects.get(pk=product.pk).archived_at
    unarchived = services.product_unarchive(product=archived)

    assert stored == NOW
    assert unarchived.archived_at is None
    assert Product.objects.get(pk=product.pk).archived_at is None


def test_a_product_without_plans_is_deleted(product):
    services.product_delete(product=product)

    assert not Product.objects.filter(pk=product.pk).exists()


def test_a_product_with_plans_is_not_deleted(workspace, product):
    PlanFactory(workspace=workspace, product=product)

    with pytest.raises(DomainError) as refused:
        services.product_delete(product=product)

    assert (refused.value.code, refused.value.status_code) == ("product_in_use", 409)
    assert Product.objects.filter(pk=product.pk).exists()


def test_deleting_a_plan_deletes_its_tiers(workspace, product):
    plan = create_plan(workspace, product, tiers_mode="range", tiers=TIERS)

    services.plan_delete(plan=plan)

    assert not PlanTier.objects.exists()


# Plans


def test_plan_create_takes_the_workspace_currency(workspace, product):
    plan = create_plan(workspace, product)

    assert plan.currency_id == "CLP"
    assert (plan.frequency, plan.usage_scheme, plan.trial_days) == ("monthly", "licensed", 0)


def test_plan_create_keeps_an_explicit_currency(workspace, product):
    plan = create_plan(workspace, product, currency=Currency.objects.get(code="CLF"))

    assert plan.currency_id == "CLF"


def test_plan_tiers_are_stored_in_order(workspace, product):
    plan = create_plan(workspace, product, tiers_mode="range", tiers=TIERS)

    stored = list(plan.tiers.values_list("position", "up_to", "amount", "flat_amount"))
    assert stored == [(0, 5, D(7), D(0)), (1, 10, D("6.5"), D(0)), (2, None, D(6), D(100))]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"tiers": TIERS},
            {"tiers_mode": ["Set tiers_mode (range or unit) to use tiers."]},
        ),
        ({"tiers_mode": "unit"}, {"tiers": ["At least one tier is required."]}),
        (
            {"tiers_mode": "range", "tiers": [Tier(10, D(1)), Tier(5, D(1)), Tier(None, D(1))]},
            {"tiers": ["up_to must increase from one tier to the next."]},
        ),
        (
            {"tiers_mode": "range", "tiers": [Tier(None, D(1)), Tier(None, D(1))]},
            {"tiers": ["Only the last tier may have no up_to."]},
        ),
        (
            {"tiers_mode": "range", "tiers": [Tier(10, D(1))]},
            {"tiers": ["The last tier must have up_to null: it prices every unit above."]},
        ),
        (
            {"tiers_mode": "unit", "tiers": TIERS, "package_size": 10},
            {"package_size": ["A plan is tiered or packaged, not both."]},
        ),
        ({"meter_id": "met_1"}, {"meter": ["Only metered plans have a meter."]}),
    ],
    ids=["tiers_need_mode", "mode_needs_tiers", "ascending", "one_open", "last_open", "package",
         "meter"],
)  # fmt: skip
def test_plan_rules_are_field_errors(workspace, product, fields, errors):
    with pytest.raises(InvalidInput) as invalid:
        create_plan(workspace, product, **fields)

    assert field_errors(invalid) == errors
    assert not Plan.objects.exists()


def test_a_metered_plan_names_a_meter_that_exists(workspace, product):
    # Meters are the metering app's; metering/tests/test_meters.py creates plans on one.
    with pytest.raises(InvalidInput) as invalid:
        create_plan(
            workspace, product, usage_scheme="metered", usage_aggregation="max", meter_id="met_1"
        )

    assert field_errors(invalid) == {"meter": ["No meter met_1 in this workspace."]}


def test_an_archived_product_takes_no_new_plans(workspace, product):
    services.product_archive(product=product, now=NOW)

    with pytest.raises(InvalidInput) as invalid:
        create_plan(workspace, product)

    assert list(field_errors(invalid)) == ["product"]


def test_a_plan_of_an_archived_product_can_still_be_edited(workspace, product):
    plan = create_plan(workspace, product)
    services.product_archive(product=product, now=NOW)

    updated = services.plan_update(plan=plan, name="Legacy", product=product)

    assert updated.name == "Legacy"


def test_a_plan_never_points_at_another_tenants_product(workspace):
    foreign = ProductFactory()

    with pytest.raises(InvalidInput) as invalid:
        create_plan(workspace, foreign)

    assert list(field_errors(invalid)) == ["product"]


def test_plan_update_replaces_the_tiers_only_when_given(workspace, product):
    plan = create_plan(workspace, product, tiers_mode="range", tiers=TIERS)

    renamed = services.plan_update(plan=plan, name="Graduated")
    kept = renamed.tiers.count()
    retiered = services.plan_update(plan=plan, tiers=[Tier(None, D(5))])

    assert kept == 3
    assert list(retiered.tiers.values_list("up_to", "amount")) == [(None, D(5))]


def test_untiering_a_plan_needs_its_tiers_removed(workspace, product):
    plan = create_plan(workspace, product, tiers_mode="range", tiers=TIERS)

    with pytest.raises(InvalidInput) as invalid:
        services.plan_update(plan=plan, tiers_mode=None)
    flat = services.plan_update(plan=plan, tiers_mode=None, tiers=[], amount=D(5))

    assert list(field_errors(invalid)) == ["tiers_mode"]
    assert (flat.tiers_mode, flat.tiers.count(), flat.amount) == (None, 0, D(5))


@pytest.mark.parametrize(
    ("fields", "quantity", "total"),
    [
        ({}, "3", "30000"),  # 3 × 10000
        ({"package_size": 10}, "11", "20000"),  # 2 packages × 10000
        ({"tiers_mode": "range", "tiers": TIERS}, "11", "173.5"),  # 35 + 32.5 + (6 + 100)
        ({"tiers_mode": "unit", "tiers": TIERS}, "11", "166"),  # 11 × 6 + 100
    ],
)
def test_a_stored_plan_is_priced_by_the_pricing_function(
    workspace, product, fields, quantity, total
):
    plan = create_plan(workspace, product, **fields)

    stored = selectors.plan_queryset().get(pk=plan.pk)

    price = plan_line_price(plan=stored, quantity=D(quantity))
    gross = price.amount * D(quantity) if price.gross is None else price.gross
    assert gross == D(total)


# Add-ons


def test_addon_create_takes_the_workspace_currency(workspace):
    addon = services.addon_create(
        workspace=workspace, test_mode=False, name="Setup", amount=D(50000)
    )

    assert (addon.currency_id, addon.apply_scheme, addon.duration_times) == (
        "CLP",
        "one_time",
        None,
    )


def test_a_recurring_addon_may_last_some_cycles(workspace):
    addon = services.addon_create(
        workspace=workspace, test_mode=False, name="Support", amount=D(9000),
        apply_scheme="recurring", duration_times=3,
    )  # fmt: skip

    assert addon.duration_times == 3


def test_a_one_time_addon_has_no_duration(workspace):
    with pytest.raises(InvalidInput) as invalid:
        services.addon_create(
            workspace=workspace, test_mode=False, name="Setup", amount=D(1), duration_times=2
        )

    assert field_errors(invalid) == {
        "duration_times": ["Only recurring add-ons have duration_times."]
    }


# Coupons


def create_coupon(workspace, test_mode=False, **fields):
    fields.setdefault("name", "Summer")
    fields.setdefault("amount", D(10))
    return services.coupon_create(workspace=workspace, test_mode=test_mode, **fields)


def usd():
    return Currency.objects.get(code="USD")


def clp():
    return Currency.objects.get(code="CLP")


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"amount": D(0)}, {"amount": ["A percent discount is more than 0 and at most 100."]}),
        (
            {"amount": D("100.000001")},
            {"amount": ["A percent discount is more than 0 and at most 100."]},
        ),
        ({"discount_scheme": "$"}, {"currency": ["Required for a $ discount."]}),
        (
            {"discount_scheme": "$", "currency": "CLP", "amount": D("10.5")},
            {"amount": ["CLP amounts have at most 0 decimals."]},
        ),
        (
            {"discount_scheme": "$", "currency": "USD", "amount": D("10.555")},
            {"amount": ["USD amounts have at most 2 decimals."]},
        ),
        (
            {"duration_scheme": "limited"},
            {"duration_times": ["Required when duration_scheme is limited."]},
        ),
        (
            {"duration_scheme": "forever", "duration_times": 3},
            {"duration_times": ["Only limited coupons have duration_times."]},
        ),
    ],
)
def test_coupon_rules_are_field_errors(workspace, fields, errors):
    if isinstance(fields.get("currency"), str):
        fields["currency"] = Currency.objects.get(code=fields["currency"])

    with pytest.raises(InvalidInput) as invalid:
        create_coupon(workspace, **fields)

    assert field_errors(invalid) == errors


@pytest.mark.parametrize(
    ("fields"),
    [
        {"amount": D(100)},
        {"amount": D("0.5")},
        {"discount_scheme": "$", "currency": "USD", "amount": D("10.50")},
        {"discount_scheme": "$", "currency": "CLP", "amount": D("5000.000000")},
        {"duration_scheme": "limited", "duration_times": 3},
    ],
)
def test_coupons_within_the_rules_are_created(workspace, fields):
    if "currency" in fields:
        fields["currency"] = Currency.objects.get(code=fields["currency"])

    coupon = create_coupon(workspace, **fields)

    assert Coupon.objects.filter(pk=coupon.pk).exists()


def test_a_coupon_code_is_unique_in_its_tenant_whatever_its_case(workspace):
    create_coupon(workspace, code="SUMMER")
    other_mode = create_coupon(workspace, test_mode=True, code="summer")
    other_workspace = create_coupon(WorkspaceFactory(), code="Summer")

    with pytest.raises(InvalidInput) as invalid:
        create_coupon(workspace, code="summer")

    assert field_errors(invalid) == {"code": ["A coupon with this code exists."]}
    assert other_mode.code == "summer"
    assert other_workspace.code == "Summer"


def test_a_coupon_keeps_its_own_code_on_update(workspace):
    coupon = create_coupon(workspace, code="SUMMER")

    updated = services.coupon_update(coupon=coupon, code="Summer", name="Summer sale")

    assert (updated.code, updated.name) == ("Summer", "Summer sale")


def test_coupons_without_a_code_do_not_collide(workspace):
    create_coupon(workspace)
    create_coupon(workspace)

    assert Coupon.objects.filter(code__isnull=True).count() == 2


def redeemable(workspace, code, today, test_mode=False):
    return selectors.coupon_redeemable(
        workspace=workspace, test_mode=test_mode, code=code, today=today
    )


def test_a_coupon_is_redeemable_by_its_code_in_any_case_until_its_last_day(workspace):
    coupon = create_coupon(workspace, code="SUMMER", valid_until_date=date(2026, 2, 28))

    assert redeemable(workspace, "summer", date(2026, 2, 1)) == coupon
    assert redeemable(workspace, "Summer", date(2026, 2, 28)) == coupon


@pytest.mark.parametrize(
    ("setup", "code", "status"),
    [
        ("expired", "coupon_expired", 409),
        ("archived", "coupon_invalid", 404),
        ("unknown", "coupon_invalid", 404),
        ("other_mode", "coupon_invalid", 404),
        ("other_workspace", "coupon_invalid", 404),
    ],
)
def test_a_coupon_that_cannot_be_redeemed(workspace, setup, code, status):
    owner, test_mode = workspace, False
    if setup == "other_mode":
        test_mode = True
    elif setup == "other_workspace":
        owner = WorkspaceFactory()
    coupon = create_coupon(
        owner, test_mode=test_mode, code="SUMMER", valid_until_date=date(2026, 2, 28)
    )
    if setup == "archived":
        services.coupon_archive(coupon=coupon)
    lookup = "NOPE" if setup == "unknown" else "SUMMER"
    today = date(2026, 3, 1) if setup == "expired" else date(2026, 2, 1)

    with pytest.raises(DomainError) as refused:
        redeemable(workspace, lookup, today)

    assert (refused.value.code, refused.value.status_code) == (code, status)


# Taxes


def test_tax_create_takes_the_workspace_country(workspace):
    tax = services.tax_create(workspace=workspace, test_mode=False, name="IVA", percent=D(19))

    assert (tax.country_id, tax.percent, tax.exempt) == ("CL", D(19), False)


def test_an_exempt_tax_has_percent_zero(workspace):
    us = Country.objects.get(code="US")
    exempt = services.tax_create(
        workspace=workspace, test_mode=False, name="Exento", percent=D(0), exempt=True, country=us
    )

    with pytest.raises(InvalidInput) as invalid:
        services.tax_update(tax=exempt, percent=D(19))

    assert field_errors(invalid) == {"percent": ["An exempt tax has percent 0."]}
    assert exempt.country_id == "US"


def test_a_tax_is_deleted(workspace):
    tax = TaxFactory(workspace=workspace)

    services.tax_delete(tax=tax)

    assert not Tax.objects.exists()


# The database holds the same rules when a write skips the services.


@pytest.mark.parametrize(
    "make",
    [
        lambda ws: PlanFactory(workspace=ws, tiers_mode="unit", package_size=10),
        lambda ws: PlanFactory(workspace=ws, package_size=0),
        lambda ws: PlanFactory(workspace=ws, amount=D(-1)),
        lambda ws: AddOnFactory(workspace=ws, duration_times=3),
        lambda ws: CouponFactory(workspace=ws, amount=D(101)),
        lambda ws: CouponFactory(workspace=ws, discount_scheme="$", currency=None),
        lambda ws: CouponFactory(workspace=ws, duration_scheme="limited"),
        lambda ws: CouponFactory(workspace=ws, duration_times=2),
        lambda ws: TaxFactory(workspace=ws, percent=D("100.0001")),
        lambda ws: TaxFactory(workspace=ws, exempt=True),
    ],
    ids=["tiers_and_package", "package_zero", "negative_plan", "one_time_duration", "percent",
         "amount_currency", "limited_times", "unlimited_times", "tax_percent", "tax_exempt"],
)  # fmt: skip
def test_the_database_refuses_what_the_services_refuse(workspace, make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make(workspace)


def test_coupon_codes_are_unique_in_the_database_whatever_their_case(workspace):
    CouponFactory(workspace=workspace, code="SUMMER")

    with pytest.raises(IntegrityError), transaction.atomic():
        CouponFactory(workspace=workspace, code="summer")

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from catalog.models import Coupon, Plan, PlanTier, Product, Tax
from catalog.tests.factories import (
    AddOnFactory,
    CouponFactory,
    PlanFactory,
    ProductFactory,
    TaxFactory,
)
from tests.numbers import decoded, money

ULID = "[0-9A-HJKMNP-TV-Z]{26}"
TENANT_FIELDS = {"id", "metadata", "test_mode", "created", "updated"}
PRODUCT_FIELDS = TENANT_FIELDS | {
    "name", "unit_label", "code", "sku", "description", "plans", "status", "archived",
}  # fmt: skip
PLAN_FIELDS = TENANT_FIELDS | {
    "product", "name", "sku", "description", "frequency", "currency", "amount", "exempt",
    "usage_scheme", "usage_aggregation", "tiers_mode", "tiers", "package_size", "meter",
    "trial_days", "status",
}  # fmt: skip
ADDON_FIELDS = TENANT_FIELDS | {
    "name", "sku", "description", "amount", "currency", "apply_scheme", "duration_times",
    "status",
}  # fmt: skip
COUPON_FIELDS = TENANT_FIELDS | {
    "name", "code", "amount", "currency", "discount_scheme", "apply_on", "duration_scheme",
    "duration_times", "valid_until", "max_redemptions", "times_redeemed", "status",
}  # fmt: skip
TAX_FIELDS = TENANT_FIELDS | {"name", "percent", "country", "exempt"}

GRADUATED = [
    {"up_to": 5, "amount": "7", "flat_amount": "0"},
    {"up_to": 10, "amount": "6.5"},
    {"up_to": None, "amount": 6, "flat_amount": "100.25"},
]


def ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def mine(tenant, factory, **fields):
    return factory(workspace=tenant.workspace, **fields)


def new_plan(product, **fields):
    return {"product": product.id, "name": "Pro", "amount": "19990", **fields}


# Products


def test_create_a_product(tenant):
    response = tenant.client.post(
        "/products/", {"name": "Web fonts", "unit_label": "font", "sku": "WF"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == PRODUCT_FIELDS
    assert re.fullmatch(f"pro_{ULID}", body["id"])
    assert body | {"id": None, "created": None, "updated": None} == {
        "id": None,
        "name": "Web fonts",
        "unit_label": "font",
        "code": "",
        "sku": "WF",
        "description": "",
        "plans": [],
        "status": "active",
        "archived": None,
        "metadata": {},
        "test_mode": False,
        "created": None,
        "updated": None,
    }
    assert Product.objects.get(pk=body["id"]).workspace == tenant.workspace


def test_a_product_lists_its_plans(tenant):
    product = mine(tenant, ProductFactory)
    plans = [mine(tenant, PlanFactory, product=product) for _ in range(2)]

    response = tenant.client.get(f"/products/{product.id}/")

    assert response.json()["plans"] == [plan.id for plan in plans]


@pytest.mark.parametrize(
    ("field", "value"), [("name", "x" * 65), ("unit_label", "x" * 13), ("name", "")]
)
def test_product_lengths_are_400_on_the_field(tenant, field, value):
    response = tenant.client.post("/products/", {"name": "Fonts", field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_put_patch_and_delete_a_product(tenant):
    product = mine(tenant, ProductFactory, sku="OLD")

    put = tenant.client.put(f"/products/{product.id}/", {"name": "Renamed"}, format="json")
    patched = tenant.client.patch(f"/products/{product.id}/", {"code": "P1"}, format="json")
    deleted = tenant.client.delete(f"/products/{product.id}/")

    assert put.status_code == 200, put.json()
    assert (put.json()["name"], put.json()["sku"]) == ("Renamed", "OLD")
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["code"]) == ("Renamed", "P1")
    assert deleted.status_code == 204
    assert tenant.client.get(f"/products/{product.id}/").status_code == 404


def test_a_product_with_plans_is_not_deleted(tenant):
    plan = mine(tenant, PlanFactory)

    response = tenant.client.delete(f"/products/{plan.product_id}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This product is in use and cannot be deleted; archive it instead.",
        "code": "product_in_use",
    }
    assert Product.objects.filter(pk=plan.product_id).exists()


@pytest.mark.parametrize(
    ("path", "factory"),
    [
        ("products", ProductFactory),
        ("plans", PlanFactory),
        ("addons", AddOnFactory),
        ("coupons", CouponFactory),
    ],
)
def test_archive_and_unarchive(tenant, path, factory):
    obj = mine(tenant, factory)
    kind = path.rstrip("s")

    archived = tenant.client.post(f"/{path}/{obj.pk}/archive/")
    again = tenant.client.post(f"/{path}/{obj.pk}/archive/")
    unarchived = tenant.client.post(f"/{path}/{obj.pk}/unarchive/")

    assert archived.status_code == 200
    assert archived.json()["status"] == "archived"
    assert again.status_code == 409
    assert again.json()["code"] == f"{kind}_invalid_transition"
    assert unarchived.status_code == 200
    assert unarchived.json()["status"] == "active"


def test_an_archived_product_says_when_as_piriod_does(tenant):
    product = mine(tenant, ProductFactory)

    body = tenant.client.post(f"/products/{product.id}/archive/").json()
    archived_at = Product.objects.get(pk=product.id).archived_at
    unarchived = tenant.client.post(f"/products/{product.id}/unarchive/").json()

    assert body["status"] == "archived"
    assert archived_at is not None
    assert parse_datetime(body["archived"]) == archived_at
    assert set(body) == PRODUCT_FIELDS
    assert (unarchived["status"], unarchived["archived"]) == ("active", None)


def test_archived_is_read_only_and_a_product_put_back_unchanged_is_accepted(tenant):
    product = mine(tenant, ProductFactory)
    archived = tenant.client.post(f"/products/{product.id}/archive/").json()

    put = tenant.client.put(f"/products/{product.id}/", {**archived, "archived": None})

    assert put.status_code == 200, put.json()
    assert put.json()["archived"] == archived["archived"]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("path", "factory"),
    [
        ("products", ProductFactory),
        ("plans", PlanFactory),
        ("addons", AddOnFactory),
        ("coupons", CouponFactory),
    ],
)
def test_a_status_change_in_an_update_is_400_not_dropped(tenant, method, path, factory):
    obj = mine(tenant, factory)

    changed = getattr(tenant.client, method)(
        f"/{path}/{obj.pk}/", {"status": "archived"}, format="json"
    )
    unknown = getattr(tenant.client, method)(
        f"/{path}/{obj.pk}/", {"status": "deleted"}, format="json"
    )
    same = getattr(tenant.client, method)(f"/{path}/{obj.pk}/", {"status": "active"}, format="json")

    assert changed.status_code == 400
    assert changed.json() == {
        "status": ["The status changes with the archive and unarchive actions."]
    }
    assert unknown.status_code == 400
    assert unknown.json() == {"status": ['"deleted" is not a valid choice.']}
    assert same.status_code == 200, same.json()
    assert tenant.client.get(f"/{path}/{obj.pk}/").json()["status"] == "active"


def test_an_archived_product_put_back_with_its_status_is_accepted(tenant):
    product = mine(tenant, ProductFactory)
    archived = tenant.client.post(f"/products/{product.id}/archive/").json()

    put = tenant.client.put(f"/products/{product.id}/", {**archived, "name": "Renamed"})

    assert put.status_code == 200, put.json()
    assert (put.json()["status"], put.json()["name"]) == ("archived", "Renamed")


def test_a_product_created_archived_is_400(tenant):
    response = tenant.client.post(
        "/products/", {"name": "Fonts", "status": "archived"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["status"]


# Plans


def test_create_a_flat_plan(tenant):
    product = mine(tenant, ProductFactory)

    response = tenant.client.post("/plans/", new_plan(product, amount=19990.5), format="json")

    assert response.status_code == 201, response.json()
    body = decoded(response)
    assert set(body) == PLAN_FIELDS
    assert re.fullmatch(f"pla_{ULID}", body["id"])
    assert body | {"id": None, "created": None, "updated": None} == {
        "id": None,
        "product": product.id,
        "name": "Pro",
        "sku": "",
        "description": "",
        "frequency": "monthly",
        "currency": "CLP",
        "amount": Decimal("19990.5"),
        "exempt": False,
        "usage_scheme": "licensed",
        "usage_aggregation": "sum",
        "tiers_mode": None,
        "tiers": [],
        "package_size": None,
        "meter": None,
        "trial_days": 0,
        "status": "active",
        "metadata": {},
        "test_mode": False,
        "created": None,
        "updated": None,
    }


def test_create_a_graduated_metered_plan(tenant):
    product = mine(tenant, ProductFactory)
    body = {
        "product": product.id, "name": "API calls", "currency": "usd", "frequency": "annual",
        "usage_scheme": "metered", "usage_aggregation": "last_record",
        "tiers_mode": "range", "tiers": GRADUATED, "trial_days": 14,
    }  # fmt: skip

    response = tenant.client.post("/plans/", body, format="json")

    assert response.status_code == 201, response.json()
    created = decoded(response)
    assert created["tiers"] == [
        {"up_to": 5, "amount": 7, "flat_amount": 0},
        {"up_to": 10, "amount": Decimal("6.5"), "flat_amount": 0},
        {"up_to": None, "amount": 6, "flat_amount": Decimal("100.25")},
    ]
    assert (created["currency"], created["amount"], created["meter"], created["trial_days"]) == (
        "USD", 0, None, 14,
    )  # fmt: skip
    assert decoded(tenant.client.get(f"/plans/{created['id']}/")) == created


def test_put_replaces_a_plans_tiers_and_patch_keeps_them(tenant):
    product = mine(tenant, ProductFactory)
    created = tenant.client.post(
        "/plans/", new_plan(product, tiers_mode="unit", tiers=GRADUATED), format="json"
    ).json()

    patched = tenant.client.patch(f"/plans/{created['id']}/", {"name": "Volume"}, format="json")
    put = tenant.client.put(
        f"/plans/{created['id']}/",
        new_plan(product, tiers_mode="unit", tiers=[{"up_to": None, "amount": "5"}]),
        format="json",
    )

    assert patched.status_code == 200, patched.json()
    assert len(patched.json()["tiers"]) == 3
    assert put.status_code == 200, put.json()
    assert decoded(put)["tiers"] == [{"up_to": None, "amount": 5, "flat_amount": 0}]
    assert PlanTier.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"amount": None}, {"amount": ["This field may not be null."]}),
        ({"amount": "-1"}, {"amount": ["Ensure this value is greater than or equal to 0."]}),
        (
            {"amount": "1.0000001"},
            {"amount": ["Ensure that there are no more than 6 decimal places."]},
        ),
        ({"currency": "XXX"}, {"currency": ["Object with code=XXX does not exist."]}),
        ({"frequency": "daily"}, {"frequency": ['"daily" is not a valid choice.']}),
        (
            {"package_size": 0},
            {"package_size": ["Ensure this value is greater than or equal to 1."]},
        ),
        ({"trial_days": -1}, {"trial_days": ["Ensure this value is greater than or equal to 0."]}),
        ({"meter": "evt_1"}, {"meter": ["Enter a meter id (met_…)."]}),
        ({"tiers_mode": ""}, {"tiers_mode": ['"" is not a valid choice.']}),
        (
            {"tiers_mode": "range", "tiers": [{"up_to": 5, "amount": "1"}, {"amount": "2"}]},
            {"tiers": {"1": {"up_to": ["This field is required."]}}},
        ),
        (
            {"tiers_mode": "range", "tiers": [{"up_to": None, "amount": "1", "extra": 1}]},
            {"tiers": {"0": {"extra": ["Unknown field."]}}},
        ),
        (
            {"tiers_mode": "range", "tiers": [{"up_to": 5, "amount": "1"}]},
            {"tiers": ["The last tier must have up_to null: it prices every unit above."]},
        ),
        (
            {"tiers_mode": "unit", "tiers": GRADUATED, "package_size": 10},
            {"package_size": ["A plan is tiered or packaged, not both."]},
        ),
        ({"meter": "met_1"}, {"meter": ["Only metered plans have a meter."]}),
        (
            {"usage_scheme": "metered", "meter": "met_1"},
            {"meter": ["No meter met_1 in this workspace."]},
        ),
    ],
)
def test_plan_validation_errors_are_400_by_field(tenant, body, errors):
    product = mine(tenant, ProductFactory)

    response = tenant.client.post("/plans/", new_plan(product, **body), format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Plan.objects.exists()


def test_amount_is_required_unless_the_plan_is_tiered(tenant):
    product = mine(tenant, ProductFactory)
    flat = {"product": product.id, "name": "Flat"}

    without = tenant.client.post("/plans/", flat, format="json")
    tiered = tenant.client.post(
        "/plans/", {**flat, "tiers_mode": "range", "tiers": GRADUATED}, format="json"
    )

    assert without.status_code == 400
    assert without.json() == {"amount": ["This field is required."]}
    assert tiered.status_code == 201, tiered.json()


def test_a_plan_on_an_archived_product_is_refused(tenant):
    product = mine(tenant, ProductFactory, status="archived")

    response = tenant.client.post("/plans/", new_plan(product), format="json")

    assert response.status_code == 400
    assert response.json() == {"product": ["The product is archived; unarchive it to add plans."]}


# Add-ons, coupons, taxes


def test_create_an_addon(tenant):
    response = tenant.client.post(
        "/addons/",
        {"name": "Support", "amount": "9990", "apply_scheme": "recurring", "duration_times": 3},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == ADDON_FIELDS
    assert re.fullmatch(f"add_{ULID}", body["id"])
    assert (money(body["amount"]), body["currency"], body["duration_times"], body["status"]) == (
        Decimal("9990"), "CLP", 3, "active",
    )  # fmt: skip


def test_a_one_time_addon_has_no_duration(tenant):
    response = tenant.client.post(
        "/addons/", {"name": "Setup", "amount": "1", "duration_times": 3}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"duration_times": ["Only recurring add-ons have duration_times."]}


def test_create_a_coupon(tenant):
    response = tenant.client.post(
        "/coupons/",
        {
            "name": "Summer", "code": "SUMMER26", "amount": "5000", "currency": "CLP",
            "discount_scheme": "$", "apply_on": "line", "duration_scheme": "limited",
            "duration_times": 3, "valid_until": "2026-03-31",
        },
        format="json",
    )  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == COUPON_FIELDS
    assert re.fullmatch(f"cou_{ULID}", body["id"])
    assert body | {"id": None, "created": None, "updated": None} == {
        "id": None,
        "name": "Summer",
        "code": "SUMMER26",
        "amount": 5000,
        "currency": "CLP",
        "discount_scheme": "$",
        "apply_on": "line",
        "duration_scheme": "limited",
        "duration_times": 3,
        "valid_until": "2026-03-31",
        "max_redemptions": None,
        "times_redeemed": 0,
        "status": "active",
        "metadata": {},
        "test_mode": False,
        "created": None,
        "updated": None,
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"amount": "150"}, {"amount": ["A percent discount is more than 0 and at most 100."]}),
        ({"discount_scheme": "$"}, {"currency": ["Required for a $ discount."]}),
        (
            {"duration_scheme": "limited"},
            {"duration_times": ["Required when duration_scheme is limited."]},
        ),
        ({"code": "SUMMER 26"}, {"code": ["Use letters, digits, '-' and '_' only."]}),
        ({"code": "summer"}, {"code": ["A coupon with this code exists."]}),
        (
            {"valid_until": "2026-02-30"},
            {
                "valid_until": [
                    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
                ]
            },
        ),
    ],
)
def test_coupon_validation_errors_are_400_by_field(tenant, body, errors):
    mine(tenant, CouponFactory, code="Summer")

    response = tenant.client.post("/coupons/", {"name": "X", "amount": "10", **body}, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert Coupon.objects.count() == 1


def test_create_a_tax(tenant):
    response = tenant.client.post("/taxes/", {"name": "IVA", "percent": "19.0000"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == TAX_FIELDS
    assert re.fullmatch(f"tax_{ULID}", body["id"])
    assert (money(body["percent"]), body["country"], body["exempt"]) == (Decimal(19), "CL", False)


def test_an_exempt_tax_needs_no_percent(tenant):
    response = tenant.client.post("/taxes/", {"name": "Exento", "exempt": True}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["percent"], response.json()["exempt"]) == (0, True)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"percent": "100.0001"}, {"percent": ["Ensure this value is less than or equal to 100."]}),
        (
            {"percent": "1.00001"},
            {"percent": ["Ensure that there are no more than 4 decimal places."]},
        ),
        ({"percent": "19", "exempt": True}, {"percent": ["An exempt tax has percent 0."]}),
        ({"percent": "0", "country": "ZZ"}, {"country": ["Object with code=ZZ does not exist."]}),
        ({}, {"percent": ["This field is required."]}),
        ({"exempt": False}, {"percent": ["This field is required."]}),
    ],
)
def test_tax_validation_errors_are_400_by_field(tenant, body, errors):
    response = tenant.client.post("/taxes/", {"name": "IVA", **body}, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Tax.objects.exists()


@pytest.mark.parametrize(
    ("path", "factory"),
    [("plans", PlanFactory), ("addons", AddOnFactory), ("coupons", CouponFactory),
     ("taxes", TaxFactory)],
)  # fmt: skip
def test_an_unreferenced_object_is_deleted(tenant, path, factory):
    obj = mine(tenant, factory)

    response = tenant.client.delete(f"/{path}/{obj.pk}/")

    assert response.status_code == 204
    assert not type(obj).objects.filter(pk=obj.pk).exists()


# Coupon lookup by code

# 02:00 UTC on March 1st is still February 28th in Santiago (UTC-3 in summer).
SANTIAGO_FEB_28 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("code", ["summer", "SUMMER", "Summer"])
def test_coupons_filter_by_code_in_any_case(tenant, code):
    coupon = mine(tenant, CouponFactory, code="Summer")
    mine(tenant, CouponFactory, code="WINTER")

    response = tenant.client.get("/coupons/", {"code": code})

    assert ids(response) == [coupon.id]


def test_validate_answers_the_coupon_through_its_last_day(tenant):
    coupon = mine(tenant, CouponFactory, code="SUMMER", valid_until_date=date(2026, 2, 28))

    with time_machine.travel(SANTIAGO_FEB_28, tick=False):
        response = tenant.client.get("/coupons/validate/", {"code": "summer"})

    assert response.status_code == 200, response.json()
    assert set(response.json()) == COUPON_FIELDS
    assert (response.json()["id"], money(response.json()["amount"])) == (coupon.id, Decimal(10))


@pytest.mark.parametrize(
    ("coupon", "query", "status", "code"),
    [
        (
            {"code": "SUMMER", "valid_until_date": date(2026, 2, 27)},
            "SUMMER",
            409,
            "coupon_expired",
        ),
        ({"code": "SUMMER", "status": "archived"}, "SUMMER", 404, "coupon_invalid"),
        ({"code": "SUMMER"}, "WINTER", 404, "coupon_invalid"),
    ],
    ids=["expired", "archived", "unknown"],
)
def test_validate_refuses_what_cannot_be_redeemed(tenant, coupon, query, status, code):
    mine(tenant, CouponFactory, **coupon)

    with time_machine.travel(SANTIAGO_FEB_28, tick=False):
        response = tenant.client.get("/coupons/validate/", {"code": query})

    assert response.status_code == status
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == code


def test_validate_needs_a_code(tenant):
    response = tenant.client.get("/coupons/validate/")

    assert response.status_code == 400
    assert response.json() == {"code": ["This field is required."]}


# Filters, search, ordering


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "archived"}, ["old"]),
        ({"status__in": "active,archived"}, ["fonts", "old", "icons"]),
        ({"name": "FON"}, ["fonts"]),
        ({"sku": "ic-1"}, ["icons"]),
        ({"search": "IC-1"}, ["icons"]),
        ({"search": "legacy"}, ["old"]),
        ({"metadata__line": "web"}, ["fonts"]),
    ],
)
def test_product_filters(tenant, query, expected):
    products = {
        "fonts": mine(tenant, ProductFactory, name="Fonts", metadata={"line": "web"}),
        "old": mine(tenant, ProductFactory, name="Old", code="LEGACY", status="archived"),
        "icons": mine(tenant, ProductFactory, name="Icons", sku="IC-1"),
    }

    response = tenant.client.get("/products/", query)

    assert sorted(ids(response)) == sorted(products[name].id for name in expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"currency": "usd"}, ["annual"]),
        ({"frequency__in": "weekly,annual"}, ["weekly", "annual"]),
        ({"usage_scheme": "metered"}, ["weekly"]),
        ({"tiers_mode": "range"}, ["annual"]),
        ({"search": "week"}, ["weekly"]),
        ({"status__in": "archived"}, ["monthly"]),
    ],
)
def test_plan_filters(tenant, query, expected):
    plans = {
        "weekly": mine(tenant, PlanFactory, name="Weekly", frequency="weekly",
                       usage_scheme="metered"),
        "monthly": mine(tenant, PlanFactory, name="Monthly", status="archived"),
        "annual": mine(tenant, PlanFactory, name="Annual", frequency="annual",
                       currency_id="USD", tiers_mode="range"),
    }  # fmt: skip

    response = tenant.client.get("/plans/", query)

    assert sorted(ids(response)) == sorted(plans[name].id for name in expected)


def test_plans_filter_by_product(tenant):
    product = mine(tenant, ProductFactory)
    plan = mine(tenant, PlanFactory, product=product)
    mine(tenant, PlanFactory)

    response = tenant.client.get("/plans/", {"product": product.id})

    assert ids(response) == [plan.id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"discount_scheme": "$"}, ["fixed"]),
        ({"duration_scheme__in": "forever,limited"}, ["fixed", "limited"]),
        ({"valid_until__lte": "2026-06-30"}, ["limited"]),
        ({"valid_until__gte": "2026-07-01"}, ["fixed"]),
        ({"search": "black"}, ["limited"]),
    ],
)
def test_coupon_filters(tenant, query, expected):
    coupons = {
        "percent": mine(tenant, CouponFactory),
        "fixed": mine(tenant, CouponFactory, discount_scheme="$", currency_id="CLP",
                      amount=Decimal(5000), duration_scheme="forever",
                      valid_until_date=date(2026, 12, 31)),
        "limited": mine(tenant, CouponFactory, code="BLACKFRIDAY", duration_scheme="limited",
                        duration_times=2, valid_until_date=date(2026, 6, 30)),
    }  # fmt: skip

    response = tenant.client.get("/coupons/", query)

    assert sorted(ids(response)) == sorted(coupons[name].id for name in expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"country": "cl"}, ["iva", "exempt"]),
        ({"country__in": "US"}, ["sales"]),
        ({"exempt": "true"}, ["exempt"]),
        ({"search": "sales"}, ["sales"]),
    ],
)
def test_tax_filters(tenant, query, expected):
    taxes = {
        "iva": mine(tenant, TaxFactory, name="IVA"),
        "exempt": mine(tenant, TaxFactory, name="Exento", percent=Decimal(0), exempt=True),
        "sales": mine(tenant, TaxFactory, name="Sales tax", percent=Decimal("8.875"),
                      country_id="US"),
    }  # fmt: skip

    response = tenant.client.get("/taxes/", query)

    assert sorted(ids(response)) == sorted(taxes[name].id for name in expected)


@pytest.mark.parametrize("path", ["products", "plans", "addons", "coupons", "taxes"])
def test_created_range_and_ordering(tenant, path):
    factory = {"products": ProductFactory, "plans": PlanFactory, "addons": AddOnFactory,
               "coupons": CouponFactory, "taxes": TaxFactory}[path]  # fmt: skip
    by_day = {}
    for day, name in [(1, "Bravo"), (2, "Alfa"), (3, "Charlie")]:
        obj = mine(tenant, factory, name=name)
        type(obj).objects.filter(pk=obj.pk).update(created_at=datetime(2026, 3, day, tzinfo=UTC))
        by_day[day] = obj.pk

    since = tenant.client.get(f"/{path}/", {"created__gte": "2026-03-02T00:00:00Z"})
    by_name = tenant.client.get(f"/{path}/", {"ordering": "name"})
    default = tenant.client.get(f"/{path}/")

    assert ids(since) == [by_day[3], by_day[2]]
    assert ids(by_name) == [by_day[2], by_day[1], by_day[3]]
    assert ids(default) == [by_day[3], by_day[2], by_day[1]]


@pytest.mark.parametrize("path", ["products", "plans", "addons", "coupons", "taxes"])
def test_an_unknown_ordering_is_a_400(tenant, path):
    response = tenant.client.get(f"/{path}/", {"ordering": "workspace"})

    assert response.status_code == 400
    assert list(response.json()) == ["ordering"]


def test_the_lists_do_not_query_per_object(tenant, django_assert_max_num_queries):
    # token, workspace, count, page (currency joined), then one prefetch: plans of
    # products, tiers of plans.
    for _ in range(10):
        product = mine(tenant, ProductFactory)
        plan = mine(tenant, PlanFactory, product=product, tiers_mode="range")
        PlanTier.objects.bulk_create(
            PlanTier(plan=plan, position=i, up_to=up_to, amount=Decimal(1))
            for i, up_to in enumerate([10, None])
        )

    with django_assert_max_num_queries(5):
        products = tenant.client.get("/products/")
    with django_assert_max_num_queries(5):
        plans = tenant.client.get("/plans/")

    assert all(len(p["plans"]) == 1 for p in products.json()["results"])
    assert all(len(p["tiers"]) == 2 for p in plans.json()["results"])


@pytest.mark.parametrize(("path", "factory"), [("addons", AddOnFactory), ("coupons", CouponFactory),
                                               ("taxes", TaxFactory)])  # fmt: skip
def test_flat_lists_take_four_queries(tenant, path, factory, django_assert_max_num_queries):
    # token, workspace, count, page (currency or country joined).
    for _ in range(10):
        mine(tenant, factory, **({"currency_id": "USD"} if path == "coupons" else {}))

    with django_assert_max_num_queries(4):
        response = tenant.client.get(f"/{path}/")

    assert len(response.json()["results"]) == 10


@pytest.mark.parametrize(("sent", "stored"), [("graduated", "range"), ("volume", "unit")])
def test_tiers_mode_accepts_piriods_and_stripes_names_and_answers_ours(tenant, sent, stored):
    product = mine(tenant, ProductFactory)

    created = tenant.client.post(
        "/plans/", new_plan(product, tiers_mode=sent, tiers=GRADUATED), format="json"
    )
    plan_id = created.json()["id"]
    patched = tenant.client.patch(f"/plans/{plan_id}/", {"tiers_mode": sent}, format="json")
    listed = tenant.client.get("/plans/", {"tiers_mode": sent})

    assert created.status_code == 201, created.json()
    assert created.json()["tiers_mode"] == stored
    assert Plan.objects.get(pk=plan_id).tiers_mode == stored
    assert patched.status_code == 200, patched.json()
    assert patched.json()["tiers_mode"] == stored
    assert ids(listed) == [plan_id]


@pytest.mark.parametrize("sent", ["package", "stairs", 1])
def test_a_tiers_mode_with_no_meaning_here_is_400(tenant, sent):
    product = mine(tenant, ProductFactory)

    response = tenant.client.post(
        "/plans/", new_plan(product, tiers_mode=sent, tiers=GRADUATED), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["tiers_mode"]

"""A nested object in a PATCH or PUT body (an invoice's line, a plan's tier, a
subscription's line) replaces the one stored whole, so it is validated whole: a required
field it lacks is a 400 on that field, not a blank (or a 500) stored in its place."""

from invoices.models import Invoice

CUSTOMER = {"name": "ACME SpA", "country": "CL", "tax_id": "76086428-5"}


def test_a_patched_invoice_line_missing_its_name_is_a_400(tenant):
    customer = tenant.client.post("/customers/", CUSTOMER, format="json").json()["id"]
    invoice = tenant.client.post(
        "/invoices/",
        {"customer": customer, "document": 33, "date": "2026-12-07",
         "lines": [{"name": "Consulting", "amount": 10}]},
        format="json",
    ).json()  # fmt: skip

    response = tenant.client.patch(
        f"/invoices/{invoice['id']}/", {"lines": [{"quantity": 2}]}, format="json"
    )

    assert response.status_code == 400, response.content
    line_errors = response.json()["lines"]
    assert "name" in str(line_errors)
    assert [line.name for line in Invoice.objects.get().lines.all()] == ["Consulting"]


def test_a_patched_plan_tier_missing_up_to_is_a_400(tenant):
    product = tenant.client.post("/products/", {"name": "SaaS"}, format="json").json()["id"]
    plan = tenant.client.post(
        "/plans/",
        {"product": product, "name": "Tiered", "currency": "CLP", "frequency": "monthly",
         "tiers_mode": "range", "tiers": [{"up_to": None, "amount": 10}]},
        format="json",
    ).json()  # fmt: skip

    response = tenant.client.patch(
        f"/plans/{plan['id']}/", {"tiers": [{"amount": 5}]}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "up_to" in str(response.json()["tiers"])


def test_a_patched_subscription_line_missing_its_plan_is_a_400(tenant):
    customer = tenant.client.post("/customers/", CUSTOMER, format="json").json()["id"]
    product = tenant.client.post("/products/", {"name": "SaaS"}, format="json").json()["id"]
    plan = tenant.client.post(
        "/plans/",
        {"product": product, "name": "Pro", "amount": 10000, "currency": "CLP",
         "frequency": "monthly"},
        format="json",
    ).json()["id"]  # fmt: skip
    subscription = tenant.client.post(
        "/subscriptions/",
        {"customer": customer, "document": 33, "date_start": "2026-12-07",
         "lines": [{"plan": plan, "quantity": 2}]},
        format="json",
    ).json()  # fmt: skip
    url = f"/subscriptions/{subscription['id']}/"

    lines = tenant.client.patch(url, {"lines": [{"quantity": 3}]}, format="json")
    addons = tenant.client.patch(url, {"addons": [{"quantity": 1}]}, format="json")

    assert (lines.status_code, addons.status_code) == (400, 400), lines.content
    assert lines.json() == {"lines": {"0": {"plan": ["This field is required."]}}}
    assert addons.json() == {"addons": {"0": {"addon": ["This field is required."]}}}
    assert tenant.client.get(url).json()["lines"][0]["quantity"] == 2

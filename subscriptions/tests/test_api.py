"""The API: shapes, status codes and error codes of /subscriptions/ and /test_clock/."""

from datetime import UTC, date, datetime

import pytest
from django.utils.dateparse import parse_datetime

from billing.models import Event, Workspace
from catalog.tests.factories import AddOnFactory, CouponFactory, PlanFactory
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from subscriptions.models import Subscription, SubscriptionLine
from subscriptions.tests.factories import SubscriptionFactory
from subscriptions.tests.helpers import santiago
from tests.conftest import Tenant, make_tenant
from tests.numbers import D

pytestmark = pytest.mark.django_db

FIELDS = {
    "id", "customer", "document", "currency", "frequency", "date_start", "trial_end",
    "billing_anchor", "next_billing", "previous_billing", "billing_cycles",
    "next_billing_cycle", "expiration_days", "collection_scheme", "default_source",
    "custom_change", "coupon", "orgunit", "require_reference", "note", "status",
    "status_description", "needs_attention", "needs_attention_reason", "cancel_reason",
    "cancel_at_period_end", "cancelled", "paused", "paused_reason", "pause_until", "lines",
    "ended_lines", "addons", "references", "metadata", "test_mode", "created", "updated",
}  # fmt: skip


@pytest.fixture
def tester() -> Tenant:
    """A test-mode caller whose workspace's clock stands at 2026-03-10 09:00 in Santiago."""
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 10, 9, 0)
    )
    return tenant


def _body(tenant: Tenant, **fields):  # type: ignore[no-untyped-def]
    scope = {"workspace": tenant.workspace, "test_mode": tenant.test_mode}
    return {
        "customer": CustomerFactory(**scope).id,
        "lines": [{"plan": PlanFactory(**scope).id, "quantity": 2}],
        **fields,
    }


def test_create_bills_the_first_cycle_and_shows_every_field(tester: Tenant) -> None:
    addon = AddOnFactory(workspace=tester.workspace, test_mode=True)
    response = tester.client.post(
        "/subscriptions/",
        _body(tester, addons=[{"addon": addon.id}], note="Plan anual", metadata={"crm": "7"}),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == FIELDS
    assert data["id"].startswith("sub_")
    assert (data["status"], data["frequency"], data["currency"]) == ("active", "monthly", "CLP")
    assert (data["date_start"], data["previous_billing"], data["next_billing"]) == (
        "2026-03-10", "2026-03-10", "2026-04-10"
    )  # fmt: skip
    assert data["next_billing_cycle"] == 2
    assert data["document"] == 33 and data["expiration_days"] == 10
    line = SubscriptionLine.objects.get(subscription_id=data["id"])
    assert data["lines"] == [
        {"id": line.id, "plan": data["lines"][0]["plan"], "quantity": D("2.000000"), "coupon": None}
    ]
    history = tester.client.get(f"/subscriptions/{data['id']}/invoices/").json()
    assert history["count"] == 1
    [invoice] = history["results"]
    assert (invoice["subscription"], invoice["status"], invoice["number"]) == (
        data["id"], "finalized", 1
    )  # fmt: skip
    assert (invoice["period_start"], invoice["period_end"], invoice["due_date"]) == (
        "2026-03-10", "2026-04-10", "2026-03-20"
    )  # fmt: skip
    assert invoice["total"] == D("29750")  # (2 × 10,000 + 5,000) + 19%


def test_the_test_clock_runs_the_cycles_it_passes(tester: Tenant) -> None:
    created = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    clock = tester.client.get("/test_clock/").json()
    assert clock == {"now": "2026-03-10T12:00:00Z", "frozen": True, "timezone": "America/Santiago"}

    response = tester.client.post(
        "/test_clock/", {"advance_to": "2026-06-10T00:30:00-04:00"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["now"] == "2026-06-10T04:30:00Z"
    history = tester.client.get(f"/subscriptions/{created['id']}/invoices/").json()
    assert [i["period_start"] for i in history["results"]] == [
        "2026-06-10", "2026-05-10", "2026-04-10", "2026-03-10"
    ]  # fmt: skip
    assert tester.client.get(f"/subscriptions/{created['id']}/").json()["next_billing"] == (
        "2026-07-10"
    )


def test_the_test_clock_only_moves_forward_and_only_in_test_mode(tester: Tenant) -> None:
    back = tester.client.post("/test_clock/", {"advance_to": "2026-03-01T00:00:00Z"}, format="json")
    assert back.status_code == 400 and "advance_to" in back.json()
    far = tester.client.post("/test_clock/", {"advance_to": "2099-01-01T00:00:00Z"}, format="json")
    assert far.status_code == 400
    live = make_tenant()
    assert live.client.get("/test_clock/").json()["frozen"] is False
    refused = live.client.post(
        "/test_clock/", {"advance_to": "2099-01-01T00:00:00Z"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "test_clock_live_mode"


def test_pause_resume_process_and_cancel(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    url = f"/subscriptions/{sub['id']}/"
    # Billed at create: process answers the subscription as it is, with no second invoice.
    processed = tester.client.post(f"{url}process/")
    assert processed.status_code == 200, processed.json()
    assert processed.json()["next_billing"] == sub["next_billing"]
    assert Invoice.objects.filter(subscription_id=sub["id"]).count() == 1

    paused = tester.client.post(
        f"{url}pause/", {"paused_reason": "custom", "pause_until": "2026-05-01"}, format="json"
    )
    assert paused.status_code == 200, paused.json()
    not_due = tester.client.post(f"{url}process/")
    assert (not_due.status_code, not_due.json()["code"]) == (409, "subscription_not_due")
    assert (paused.json()["status"], paused.json()["pause_until"]) == ("paused", "2026-05-01")
    assert paused.json()["paused"] == "2026-03-10T12:00:00Z"
    again = tester.client.post(f"{url}pause/", {}, format="json")
    assert again.json()["code"] == "subscription_invalid_transition"

    resumed = tester.client.post(f"{url}resume/")
    assert (resumed.json()["status"], resumed.json()["next_billing"]) == ("active", "2026-04-10")

    at_end = tester.client.delete(f"{url}?cancel_reason=no_card&at_period_end=true")
    assert at_end.status_code == 200, at_end.json()
    assert (at_end.json()["status"], at_end.json()["cancel_at_period_end"]) == ("active", True)
    now = tester.client.delete(url, {"cancel_reason": "fraud_review_failed"}, format="json")
    assert now.status_code == 200
    assert (now.json()["status"], now.json()["cancel_reason"]) == (
        "cancelled",
        "fraud_review_failed",
    )
    assert now.json()["cancelled"] == "2026-03-10T12:00:00Z"
    gone = tester.client.delete(url)
    assert gone.status_code == 409


def test_cancel_at_period_end_of_a_paused_subscription_is_scheduled(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    url = f"/subscriptions/{sub['id']}/"
    tester.client.post(f"{url}pause/", {}, format="json")

    response = tester.client.delete(f"{url}?at_period_end=true")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["cancel_at_period_end"], body["cancelled"]) == (
        "paused", True, None,
    )  # fmt: skip
    assert body["status_description"] == f"Cancels on {sub['next_billing']}."


def test_process_bills_a_due_cycle(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    # The clock reaches the boundary without the cycles having run (as if beat lagged).
    Workspace.objects.filter(pk=tester.workspace.pk).update(
        test_clock_at=santiago(2026, 4, 10, 8, 0)
    )
    response = tester.client.post(f"/subscriptions/{sub['id']}/process/")
    assert response.status_code == 200, response.json()
    assert (response.json()["previous_billing"], response.json()["next_billing"]) == (
        "2026-04-10", "2026-05-10"
    )  # fmt: skip


def test_a_cycle_whose_number_is_taken_is_a_409_that_bills_nothing(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    first = Invoice.objects.get(subscription_id=sub["id"])
    # A number the sequence did not hand out (an imported document) is the next one.
    FinalizedInvoiceFactory(
        workspace=tester.workspace,
        test_mode=True,
        document=first.document,
        number=(first.number or 0) + 1,
    )
    Workspace.objects.filter(pk=tester.workspace.pk).update(
        test_clock_at=santiago(2026, 4, 10, 8, 0)
    )

    response = tester.client.post(f"/subscriptions/{sub['id']}/process/")

    assert response.status_code == 409, response.content
    assert Invoice.objects.filter(subscription_id=sub["id"]).count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lines": []}, "lines"),
        ({"collection_scheme": "charge_payment"}, "default_source"),
        ({"date_start": "2026-03-01"}, "date_start"),
        ({"billing_anchor": "2026-05-01"}, "billing_anchor"),
        ({"billing_anchor": 0}, "billing_anchor"),
        ({"billing_anchor": 32}, "billing_anchor"),
        ({"billing_anchor": True}, "billing_anchor"),
        ({"billing_anchor": 15.5}, "billing_anchor"),
        ({"billing_anchor": "31"}, "billing_anchor"),
        ({"expiration_days": -1}, "expiration_days"),
        ({"colour": "red"}, "colour"),
        ({"collection_scheme": "by_pigeon"}, "collection_scheme"),
    ],
)
def test_invalid_bodies_are_400_on_their_field(tester: Tenant, fields: dict, field: str) -> None:
    response = tester.client.post("/subscriptions/", _body(tester, **fields), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_another_tenants_plan_or_coupon_is_a_400(tester: Tenant) -> None:
    other = make_tenant(test_mode=True)
    foreign_plan = PlanFactory(workspace=other.workspace, test_mode=True)
    body = _body(tester)
    body["lines"][0]["plan"] = foreign_plan.id
    assert tester.client.post("/subscriptions/", body, format="json").status_code == 400
    foreign_coupon = CouponFactory(workspace=other.workspace, test_mode=True)
    response = tester.client.post(
        "/subscriptions/", _body(tester, coupon=foreign_coupon.id), format="json"
    )
    assert response.status_code == 400 and "coupon" in response.json()


def test_update_keeps_creation_terms_and_filters_find_needs_attention(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    url = f"/subscriptions/{sub['id']}/"
    moved = tester.client.patch(url, {"date_start": "2026-04-01"}, format="json")
    assert moved.status_code == 400 and "date_start" in moved.json()
    noted = tester.client.patch(url, {"note": "VIP", "billing_cycles": 6}, format="json")
    assert (noted.json()["note"], noted.json()["billing_cycles"]) == ("VIP", 6)
    flagged_at = datetime(2026, 4, 2, 12, tzinfo=UTC)
    Subscription.objects.filter(pk=sub["id"]).update(
        status="needs_attention", needs_attention_reason="gateway_issue",
        needs_attention_at=flagged_at,
    )  # fmt: skip
    flagged = tester.client.get("/subscriptions/?needs_attention=true").json()
    assert [s["id"] for s in flagged["results"]] == [sub["id"]]
    assert parse_datetime(flagged["results"][0]["needs_attention"]) == flagged_at
    assert tester.client.get("/subscriptions/?needs_attention=false").json()["count"] == 0
    resumed = tester.client.post(f"{url}resume/").json()
    assert (resumed["status"], resumed["needs_attention"]) == ("active", None)
    assert date.fromisoformat(sub["next_billing"]) == date(2026, 4, 10)


def test_next_billing_cycle_is_null_when_the_next_billing_bills_no_cycle(tester: Tenant) -> None:
    # The period billed runs to next_billing, but no cycle is billed then: its cycles are
    # done, or it cancels.
    ended = tester.client.post("/subscriptions/", _body(tester, billing_cycles=3), format="json")
    assert ended.json()["next_billing_cycle"] == 2
    lowered = tester.client.patch(
        f"/subscriptions/{ended.json()['id']}/", {"billing_cycles": 1}, format="json"
    )
    cancelling = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    cancelled = tester.client.delete(f"/subscriptions/{cancelling['id']}/?at_period_end=true")

    assert (lowered.json()["next_billing"], lowered.json()["next_billing_cycle"]) == (
        "2026-04-10", None
    )  # fmt: skip
    assert (cancelled.json()["next_billing"], cancelled.json()["next_billing_cycle"]) == (
        "2026-04-10", None
    )  # fmt: skip


def test_a_change_of_plans_or_of_the_cancellation_to_come_is_a_subscription_updated_event(
    tester: Tenant,
) -> None:
    # As Stripe's customer.subscription.updated: a webhook learns of an upgrade (to grant
    # what it buys) and of a cancellation scheduled or taken back.
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    url = f"/subscriptions/{sub['id']}/"
    bigger = PlanFactory(workspace=tester.workspace, test_mode=True)

    upgraded = tester.client.patch(url, {"lines": [{"plan": bigger.id}]}, format="json")
    scheduled = tester.client.delete(f"{url}?at_period_end=true")
    withdrawn = tester.client.patch(url, {"cancel_at_period_end": False}, format="json")

    assert [r.status_code for r in (upgraded, scheduled, withdrawn)] == [200, 200, 200]
    updates = Event.objects.filter(object_id=sub["id"], type="subscription.updated")
    assert [
        (e.data["lines"][0]["plan"], e.data["cancel_at_period_end"]) for e in updates.order_by("pk")
    ] == [(bigger.id, False), (bigger.id, True), (bigger.id, False)]


def test_a_day_of_month_anchor_bills_to_that_day_then_keeps_it(tester: Tenant) -> None:
    # Mar 10 with the 31st: [Mar 10, Mar 31) is 21 of March's 31 days, prorated.
    response = tester.client.post("/subscriptions/", _body(tester, billing_anchor=31),
                                  format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["billing_anchor"], data["previous_billing"], data["next_billing"]) == (
        "2026-03-31", "2026-03-10", "2026-03-31"
    )  # fmt: skip
    [invoice] = tester.client.get(f"/subscriptions/{data['id']}/invoices/").json()["results"]
    assert (invoice["period_start"], invoice["period_end"]) == ("2026-03-10", "2026-03-31")
    assert "(prorated 21/31 days)" in invoice["lines"][0]["description"]
    # Sending the same day again on an update is no change; another day is.
    url = f"/subscriptions/{data['id']}/"
    assert tester.client.patch(url, {"billing_anchor": 31}, format="json").status_code == 200
    moved = tester.client.patch(url, {"billing_anchor": 30}, format="json")
    assert moved.status_code == 400 and "billing_anchor" in moved.json()


def test_cancel_with_prorate_in_the_query_or_the_body_credits_the_unused_days(
    tester: Tenant,
) -> None:
    by_query = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    by_body = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    Workspace.objects.filter(pk=tester.workspace.pk).update(
        test_clock_at=santiago(2026, 3, 20, 9, 0)
    )
    # [Mar 10, Apr 10) has 31 days, 21 unused from Mar 20: 2 × 10,000 × 21/31
    # = 2 × 6,774.193548 = 13,548.387096 → 13,548; IVA 2,574.12 → 2,574.
    for sub, response in (
        (by_query, tester.client.delete(f"/subscriptions/{by_query['id']}/?prorate=true")),
        (by_body, tester.client.delete(f"/subscriptions/{by_body['id']}/", {"prorate": True},
                                       format="json")),
    ):  # fmt: skip
        assert response.status_code == 200, response.json()
        assert set(response.json()) == FIELDS
        assert (response.json()["status"], response.json()["cancelled"]) == (
            "cancelled", "2026-03-20T12:00:00Z"
        )  # fmt: skip
        [invoice] = tester.client.get(f"/subscriptions/{sub['id']}/invoices/").json()["results"]
        notes = tester.client.get(f"/creditnotes/?invoice={invoice['id']}").json()["results"]
        shown = [(n["status"], n["reason"], n["date"], n["subtotal"], n["total"]) for n in notes]
        assert shown == [("finalized", 3, "2026-03-20", D("13548"), D("16122"))]
        assert notes[0]["lines"][0]["description"] == (
            "2026-03-20 – 2026-04-09 (prorated 21/31 days)"
        )


def test_prorate_with_at_period_end_is_a_400(tester: Tenant) -> None:
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    url = f"/subscriptions/{sub['id']}/"
    response = tester.client.delete(f"{url}?at_period_end=true&prorate=true")
    assert response.status_code == 400
    assert "at_period_end" in response.json()["prorate"][0]  # not an unknown field
    body = tester.client.delete(url, {"prorate": "maybe"}, format="json")
    assert body.status_code == 400 and "prorate" in body.json()
    assert tester.client.get(url).json()["status"] == "active"


def test_a_subscription_in_dollars_bills_export_invoices(tester: Tenant) -> None:
    scope = {"workspace": tester.workspace, "test_mode": True}
    customer = CustomerFactory(**scope, country_id="US", currency_id="USD", tax_id="")
    lines = [{"plan": PlanFactory(**scope, currency_id="USD").id}]
    body = {"customer": customer.id, "lines": lines}

    factura = tester.client.post("/subscriptions/", body, format="json")
    export = tester.client.post("/subscriptions/", {**body, "document": 110}, format="json")

    assert factura.status_code == 400, factura.json()
    assert factura.json()["code"] == "document_currency_mismatch"
    assert export.status_code == 201, export.json()
    history = tester.client.get(f"/subscriptions/{export.json()['id']}/invoices/").json()
    assert [(i["document"], i["currency"]) for i in history["results"]] == [(110, "USD")]


def test_subscriptions_filter_by_plan_coupon_document_and_dates(tenant: Tenant) -> None:
    coupon = CouponFactory(workspace=tenant.workspace)
    first = SubscriptionFactory(workspace=tenant.workspace, coupon=coupon)
    second = SubscriptionFactory(
        workspace=tenant.workspace,
        document_id=39,
        date_start=date(2026, 3, 1),
        next_billing=date(2026, 4, 1),
    )
    plan = SubscriptionLine.objects.get(subscription=first).plan

    def ids(query: dict[str, str]) -> list[str]:
        response = tenant.client.get("/subscriptions/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({"plan": plan.id}) == [first.id]
    assert ids({"coupon": coupon.id}) == [first.id]
    assert ids({"document": "39"}) == [second.id]
    assert ids({"date_start__gte": "2026-02-01"}) == [second.id]
    assert ids({"date_start__between": "2026-01-01,2026-01-31"}) == [first.id]
    assert ids({"next_billing": "2026-04-01"}) == [second.id]
    assert ids({"next_billing__lt": "2026-04-01"}) == [first.id]
    assert tenant.client.get("/subscriptions/", {"plan": "pla_nope"}).status_code == 404


def test_subscriptions_filter_by_cancellation_to_come_trial_end_and_previous_billing(
    tenant: Tenant,
) -> None:
    # What a Stripe user lists: those set to cancel, trials ending soon, recent billings.
    cancelling = SubscriptionFactory(
        workspace=tenant.workspace, cancel_at_period_end=True, previous_billing=date(2026, 3, 1)
    )
    trialing = SubscriptionFactory(workspace=tenant.workspace, trial_end=date(2026, 5, 20))

    def ids(query: dict[str, str]) -> list[str]:
        response = tenant.client.get("/subscriptions/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({"cancel_at_period_end": "true"}) == [cancelling.id]
    assert ids({"cancel_at_period_end": "false"}) == [trialing.id]
    assert ids({"trial_end__gte": "2026-05-14", "trial_end__lte": "2026-05-21"}) == [trialing.id]
    assert ids({"trial_end__lt": "2026-05-20"}) == []
    assert ids({"previous_billing__gte": "2026-03-01"}) == [cancelling.id]
    assert ids({"previous_billing__between": "2026-01-01,2026-02-28"}) == [trialing.id]


def test_a_reference_keeps_the_date_it_is_valid_until_and_the_invoice_gets_the_sii_fields(
    tester: Tenant,
) -> None:
    reference = {
        "document": "801", "serial": "OC-77", "date": "2026-03-01", "date_end": "2026-12-31",
        "description": "Orden de compra",
    }  # fmt: skip

    response = tester.client.post(
        "/subscriptions/", _body(tester, references=[reference]), format="json"
    )

    assert response.status_code == 201, response.json()
    [shown] = response.json()["references"]
    assert (shown["date"], shown["date_end"]) == ("2026-03-01", "2026-12-31")
    invoice = Invoice.objects.get(subscription_id=response.json()["id"])
    assert [row.get("date_end") for row in invoice.references] == [None]
    assert invoice.references[0]["serial"] == "OC-77"


@pytest.mark.parametrize(
    ("date_end", "error"),
    [
        ("2026-02-28", "The reference cannot end before its date."),
        ("someday", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
    ],
)
def test_a_reference_date_end_is_validated(tester: Tenant, date_end: str, error: str) -> None:
    reference = {"document": "801", "serial": "1", "date": "2026-03-01", "date_end": date_end}

    response = tester.client.post(
        "/subscriptions/", _body(tester, references=[reference]), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"references": {"0": {"date_end": [error]}}}


def test_a_retrieved_subscription_put_back_is_accepted_once_its_coupons_expire_and_its_catalog_is_archived(  # noqa: E501
    tester: Tenant,
) -> None:
    """What a subscription already holds keeps billing after its coupon's valid_until and
    after its plan, add-on and coupons are archived: only what a change brings in is
    checked, so the subscription retrieved and PUT back (or its coupon sent again) is
    accepted, while a new expired coupon, archived plan or add-on is still a 400."""
    scope = {"workspace": tester.workspace, "test_mode": True}
    plan = PlanFactory(**scope)
    addon = AddOnFactory(**scope, apply_scheme="recurring")
    until = date(2026, 3, 31)
    coupon = CouponFactory(**scope, duration_scheme="forever", valid_until_date=until)
    own = CouponFactory(**scope, duration_scheme="forever", apply_on="line", valid_until_date=until)
    body = _body(tester, coupon=coupon.id, addons=[{"addon": addon.id}])
    body["lines"] = [{"plan": plan.id, "quantity": 2, "coupon": own.id}]
    created = tester.client.post("/subscriptions/", body, format="json")
    assert created.status_code == 201, created.json()
    sub = created.json()["id"]
    advanced = tester.client.post(
        "/test_clock/", {"advance_to": "2026-04-11T09:00:00-04:00"}, format="json"
    )
    assert advanced.status_code == 200, advanced.json()
    for kind, item in (("plans", plan), ("addons", addon), ("coupons", coupon), ("coupons", own)):
        archived = tester.client.post(f"/{kind}/{item.id}/archive/")
        assert archived.status_code == 200, archived.json()

    retrieved = tester.client.get(f"/subscriptions/{sub}/").json()
    put = tester.client.put(f"/subscriptions/{sub}/", retrieved, format="json")
    patched = tester.client.patch(
        f"/subscriptions/{sub}/", {"coupon": coupon.id, "note": "Sucursal"}, format="json"
    )

    assert put.status_code == 200, put.json()
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["coupon"], patched.json()["note"]) == (coupon.id, "Sucursal")
    assert patched.json()["lines"] == retrieved["lines"]
    # What a change brings in is checked as on create.
    fresh = CouponFactory(**scope, duration_scheme="forever", valid_until_date=until)
    again = tester.client.patch(f"/subscriptions/{sub}/", {"coupon": fresh.id}, format="json")
    assert again.status_code == 400 and "expired" in again.json()["coupon"][0]
    more = {"lines": [*retrieved["lines"], {"plan": plan.id, "quantity": 1}]}
    added = tester.client.patch(f"/subscriptions/{sub}/", more, format="json")
    assert added.status_code == 400 and "archived" in added.json()["lines"]["1"]["plan"][0]
    moved = {"lines": [{"plan": PlanFactory(**scope).id, "quantity": 2, "coupon": own.id}]}
    recouponed = tester.client.patch(f"/subscriptions/{sub}/", moved, format="json")
    assert recouponed.status_code == 400 and recouponed.json()["lines"]["0"]["coupon"]
    extra = {"addons": [{"addon": addon.id}, {"addon": addon.id}]}
    twice = tester.client.patch(f"/subscriptions/{sub}/", extra, format="json")
    assert twice.status_code == 400 and "archived" in twice.json()["addons"]["1"]["addon"][0]


def test_a_plan_of_an_archived_product_starts_no_subscription(tester: Tenant) -> None:
    scope = {"workspace": tester.workspace, "test_mode": True}
    plan = PlanFactory(**scope, product__status="archived")
    body = _body(tester)
    body["lines"] = [{"plan": plan.id, "quantity": 1}]

    response = tester.client.post("/subscriptions/", body, format="json")

    assert response.status_code == 400, response.json()
    assert "archived" in response.json()["lines"]["0"]["plan"][0]


def test_a_cycle_invoice_in_review_is_kept_with_its_subscription_and_the_409s_say_so(
    tester: Tenant,
) -> None:
    """A workspace that reviews cycle invoices gets them as drafts: one cannot be deleted
    (it bills its period, which is not billed again), and a change that must credit it
    asks to finalize it, the one way forward."""
    Workspace.objects.filter(pk=tester.workspace.pk).update(review_cycle_invoices=True)
    created = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    invoice = Invoice.objects.get(subscription_id=created["id"])
    assert invoice.status == "draft"

    deleted = tester.client.delete(f"/invoices/{invoice.id}/")
    lines = [{"plan": created["lines"][0]["plan"], "quantity": 5}]
    changed = tester.client.patch(
        f"/subscriptions/{created['id']}/", {"lines": lines}, format="json"
    )

    assert deleted.status_code == 409
    assert deleted.json()["code"] == "invoice_from_subscription"
    assert created["id"] in deleted.json()["detail"]
    assert Invoice.objects.filter(pk=invoice.id).exists()
    assert changed.status_code == 409
    assert changed.json()["code"] == "subscription_period_in_review"
    assert "delete" not in changed.json()["detail"]
    assert "finalize" in changed.json()["detail"]


def test_a_pause_ends_within_five_years(tester: Tenant) -> None:
    """Like a start, a pause's end is at most five years ahead: further is a 400 on
    pause_until (the calendar ends in year 9999), and the subscription stays active."""
    sub = tester.client.post("/subscriptions/", _body(tester), format="json").json()
    far = tester.client.post(
        f"/subscriptions/{sub['id']}/pause/", {"pause_until": "9999-12-31"}, format="json"
    )
    beyond = tester.client.post(
        f"/subscriptions/{sub['id']}/pause/", {"pause_until": "2031-03-20"}, format="json"
    )
    within = tester.client.post(
        f"/subscriptions/{sub['id']}/pause/", {"pause_until": "2031-03-10"}, format="json"
    )

    assert far.status_code == 400 and "five years" in far.json()["pause_until"][0]
    assert beyond.status_code == 400 and "pause_until" in beyond.json()
    assert within.status_code == 200, within.json()
    upcoming = tester.client.get(f"/subscriptions/{sub['id']}/upcoming/")
    assert upcoming.status_code == 200, upcoming.json()
    assert upcoming.json()["period_start"] == "2031-03-10"

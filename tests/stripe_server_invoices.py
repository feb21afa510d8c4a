"""Stripe's invoices for the fake Stripe (tests/stripe_server.py), in Stripe's wire format.

localstripe's invoices cannot hold items added after they are created, so these routes
take `/v1/invoices`, `/v1/invoiceitems` and `/v1/credit_notes` over (a middleware runs
them before localstripe's own routes) with what Stripe documents:

- an invoice is created as a `draft` (items pending on the customer are left out with
  `pending_invoice_items_behavior=exclude`); items are added to a draft only;
- `finalize` makes a draft `open` with its number, hosted page and PDF (an invoice of 0
  is `paid` at once); `void` only an open or uncollectible one; `pay` with
  `paid_out_of_band` marks an open one paid outside Stripe (`amount_paid_off_stripe`);
- a credit note on an open invoice lowers what it asks (and pays it when nothing is left);
  on a paid one its amount must be said to go out of band, to a refund or to the balance;
  never more than the invoice has left to credit.

Test-only routes play the customer on the hosted page: `POST /_test/invoices/{id}/pay`
(with `card`: a declining test card fails the attempt) answers the `invoice.paid` or
`invoice.payment_failed` event Stripe would send. With `api_version` older than
2025-03-31 (a webhook endpoint pinned to it) the event's invoice has that version's
shape: top-level `payment_intent`, `charge`, `paid` and `paid_out_of_band` instead of
`payments` and `amount_paid_off_stripe`.
"""

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import stripe
from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

_INVOICES: dict[str, dict[str, Any]] = {}
_ITEMS: dict[str, dict[str, Any]] = {}
_CREDIT_NOTES: dict[str, dict[str, Any]] = {}
_NUMBERS = {"invoice": 0}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(400, f"Invalid integer: {name}") from None


def _bool(value: Any) -> bool:
    return str(value).lower() == "true"


def live_mode(request: web.Request) -> bool:
    """Stripe's `livemode` of what a call makes: true for a live key's calls."""
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return key.startswith(("sk_live_", "rk_live_"))


def _list(rows: list[dict[str, Any]], url: str) -> web.Response:
    return server.json_response({"object": "list", "data": rows, "has_more": False, "url": url})


def _invoice(invoice_id: str) -> dict[str, Any]:
    invoice = _INVOICES.get(invoice_id)
    if invoice is None:
        raise UserError(404, f"No such invoice: '{invoice_id}'")
    return invoice


def _shown(invoice: dict[str, Any]) -> dict[str, Any]:
    lines = [
        {
            "id": "il_" + item["id"][3:],
            "object": "line_item",
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "invoice": invoice["id"],
            "metadata": item["metadata"],
            "quantity": 1,
        }
        for item in _ITEMS.values()
        if item["invoice"] == invoice["id"]
    ]
    return {
        **invoice,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice['id']}/lines",
        },
    }


def _total(invoice_id: str) -> int:
    return sum(item["amount"] for item in _ITEMS.values() if item["invoice"] == invoice_id)


async def invoice_create(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    customer = data.get("customer")
    if not customer:
        raise UserError(400, "Missing required param: customer.")
    resources.Customer._api_retrieve(customer)  # 404 for an unknown customer
    collection = data.get("collection_method", "charge_automatically")
    if collection == "send_invoice" and "days_until_due" not in data and "due_date" not in data:
        raise UserError(400, "Missing required param: days_until_due or due_date for send_invoice.")
    now = int(time.time())
    invoice_id = _id("in_")
    days = _int(data.get("days_until_due", 0), "days_until_due")
    _INVOICES[invoice_id] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "currency": (data.get("currency") or "usd").lower(),
        "collection_method": collection,
        "auto_advance": _bool(data.get("auto_advance", "false")),
        "description": data.get("description"),
        "metadata": data.get("metadata") or {},
        "status": "draft",
        "number": None,
        "amount_due": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 0,
        "subtotal": 0,
        "total": 0,
        "pre_payment_credit_notes_amount": 0,
        "post_payment_credit_notes_amount": 0,
        "attempt_count": 0,
        "attempted": False,
        "due_date": now + days * 86400 if collection == "send_invoice" else None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "payments": {
            "object": "list", "data": [], "has_more": False, "url": "/v1/invoice_payments",
        },
        "status_transitions": {
            "finalized_at": None, "paid_at": None, "voided_at": None,
            "marked_uncollectible_at": None,
        },
        "created": now,
        "livemode": live_mode(request),
    }  # fmt: skip
    return server.json_response(_shown(_INVOICES[invoice_id]))


async def invoice_retrieve(request: web.Request) -> web.Response:
    return server.json_response(_shown(_invoice(request["id"])))


async def invoice_finalize(request: web.Request) -> web.Response:
    invoice = _invoice(request["id"])
    if invoice["status"] != "draft":
        raise UserError(400, "This invoice is already finalized, you can't re-finalize it.")
    total = _total(invoice["id"])
    _NUMBERS["invoice"] += 1
    now = int(time.time())
    invoice.update(
        status="open",
        number=f"FAKE-{_NUMBERS['invoice']:04d}",
        subtotal=total,
        total=total,
        amount_due=total,
        amount_remaining=total,
        hosted_invoice_url=f"http://{request.host}/_test/invoices/{invoice['id']}/hosted",
        invoice_pdf=f"http://{request.host}/_test/invoices/{invoice['id']}/pdf",
    )
    invoice["status_transitions"]["finalized_at"] = now
    if total == 0:
        _mark_paid(invoice, now)
    return server.json_response(_shown(invoice))


def _mark_paid(invoice: dict[str, Any], now: int) -> None:
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = now


def _open_only(invoice: dict[str, Any], verb: str) -> None:
    if invoice["status"] == "paid":
        raise UserError(400, "Invoice is already paid")
    if invoice["status"] not in ("open", "uncollectible"):
        raise UserError(
            400, f"You can only {verb} an invoice that is open or uncollectible "
            f"(this one is {invoice['status']})."
        )  # fmt: skip


async def invoice_void(request: web.Request) -> web.Response:
    invoice = _invoice(request["id"])
    _open_only(invoice, "void")
    invoice["status"] = "void"
    invoice["amount_remaining"] = 0
    invoice["status_transitions"]["voided_at"] = int(time.time())
    return server.json_response(_shown(invoice))


async def invoice_pay(request: web.Request) -> web.Response:
    invoice = _invoice(request["id"])
    data = await server.get_post_data(request) or {}
    _open_only(invoice, "pay")
    if not _bool(data.get("paid_out_of_band", "false")):
        raise UserError(400, "Only paid_out_of_band is supported by this fake.")
    invoice["amount_paid"] += invoice["amount_remaining"]
    invoice["amount_paid_off_stripe"] += invoice["amount_remaining"]
    invoice["amount_remaining"] = 0
    _mark_paid(invoice, int(time.time()))
    return server.json_response(_shown(invoice))


async def invoice_list(request: web.Request) -> web.Response:
    customer = request.query.get("customer")
    rows = [_shown(i) for i in _INVOICES.values() if customer in (None, i["customer"])]
    return _list(rows, "/v1/invoices")


async def item_create(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    customer = data.get("customer")
    if not customer:
        raise UserError(400, "Missing required param: customer.")
    resources.Customer._api_retrieve(customer)
    invoice_id = data.get("invoice")
    if invoice_id:
        invoice = _invoice(invoice_id)
        if invoice["status"] != "draft":
            raise UserError(400, "You can only add invoice items to draft invoices.")
        if invoice["customer"] != customer:
            raise UserError(400, "The invoice belongs to another customer.")
        if (data.get("currency") or invoice["currency"]).lower() != invoice["currency"]:
            raise UserError(400, "The currency of the invoice item must match the invoice's.")
    if "amount" not in data:
        raise UserError(400, "Missing required param: amount.")
    item_id = _id("ii_")
    _ITEMS[item_id] = {
        "id": item_id,
        "object": "invoiceitem",
        "amount": _int(data["amount"], "amount"),
        "currency": (data.get("currency") or "usd").lower(),
        "customer": customer,
        "description": data.get("description"),
        "invoice": invoice_id,
        "metadata": data.get("metadata") or {},
        "quantity": 1,
        "date": int(time.time()),
        "livemode": False,
    }
    return server.json_response(_ITEMS[item_id])


async def item_list(request: web.Request) -> web.Response:
    invoice_id = request.query.get("invoice")
    rows = [i for i in _ITEMS.values() if invoice_id in (None, i["invoice"])]
    return _list(rows, "/v1/invoiceitems")


async def credit_note_create(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    invoice = _invoice(data.get("invoice") or "")
    if invoice["status"] not in ("open", "paid"):
        raise UserError(400, "Credit notes can only be issued on open or paid invoices.")
    amount = _int(data.get("amount"), "amount")
    credited = (
        invoice["pre_payment_credit_notes_amount"] + invoice["post_payment_credit_notes_amount"]
    )
    if amount <= 0 or amount > invoice["total"] - credited:
        raise UserError(400, "The credit note's amount exceeds what the invoice can still credit.")
    out_of_band = _int(data.get("out_of_band_amount", 0), "out_of_band_amount")
    refund = _int(data.get("refund_amount", 0), "refund_amount")
    credit = _int(data.get("credit_amount", 0), "credit_amount")
    if invoice["status"] == "paid":
        if out_of_band + refund + credit != amount:
            raise UserError(
                400, "The sum of credit amount, refund amount and out of band amount must "
                "equal the credit note amount for a paid invoice."
            )  # fmt: skip
        invoice["post_payment_credit_notes_amount"] += amount
        kind = "post_payment"
    else:
        if amount > invoice["amount_remaining"]:
            raise UserError(400, "The credit note's amount exceeds the invoice's amount remaining.")
        invoice["pre_payment_credit_notes_amount"] += amount
        invoice["amount_due"] -= amount
        invoice["amount_remaining"] -= amount
        kind = "pre_payment"
        if invoice["amount_remaining"] == 0:
            _mark_paid(invoice, int(time.time()))
    note_id = _id("cn_")
    _CREDIT_NOTES[note_id] = {
        "id": note_id,
        "object": "credit_note",
        "invoice": invoice["id"],
        "customer": invoice["customer"],
        "amount": amount,
        "currency": invoice["currency"],
        "memo": data.get("memo"),
        "metadata": data.get("metadata") or {},
        "out_of_band_amount": out_of_band or None,
        "status": "issued",
        "type": kind,
        "number": f"{invoice['number']}-CN-{len(_CREDIT_NOTES) + 1:02d}",
        "created": int(time.time()),
        "livemode": False,
    }
    return server.json_response(_CREDIT_NOTES[note_id])


async def credit_note_list(request: web.Request) -> web.Response:
    invoice_id = request.query.get("invoice")
    rows = [n for n in _CREDIT_NOTES.values() if invoice_id in (None, n["invoice"])]
    return _list(rows, "/v1/credit_notes")


# The API version that moved an invoice's payments into `payments` (Stripe's changelog:
# "Adds support for multiple (partial) payments on invoices").
_PAYMENTS_LIST_VERSION = "2025-03-31"


def _before_payments_list(shown: dict[str, Any]) -> dict[str, Any]:
    """An invoice as versions before 2025-03-31 show it: its latest payment's intent and
    charge at the top level."""
    old = {k: v for k, v in shown.items() if k not in ("payments", "amount_paid_off_stripe")}
    payments = shown["payments"]["data"]
    intent_id = (payments[-1]["payment"] or {}).get("payment_intent") if payments else None
    charge = None
    if intent_id:
        latest = resources.PaymentIntent._api_retrieve(intent_id).latest_charge
        charge = latest.id if latest is not None else None
    old.update(
        payment_intent=intent_id,
        charge=charge,
        paid=shown["status"] == "paid",
        paid_out_of_band=bool(shown.get("amount_paid_off_stripe")),
    )
    return old


def _event(event_type: str, invoice: dict[str, Any], api_version: str = "") -> dict[str, Any]:
    version = api_version or stripe.api_version
    shown = _shown(invoice)
    if version < _PAYMENTS_LIST_VERSION:
        shown = _before_payments_list(shown)
    return {
        "id": _id("evt_"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": invoice["livemode"],
        "api_version": version,
        "data": {"object": shown},
    }


async def hosted_pay(request: web.Request) -> web.Response:
    """The customer pays on the hosted page with `card`: the event Stripe then sends."""
    invoice = _invoice(request["id"])
    data = await server.get_post_data(request) or {}
    _open_only(invoice, "pay")
    method = resources.PaymentMethod(
        type="card",
        card={"number": data.get("card", "4242424242424242"), "exp_month": 12,
              "exp_year": 2034, "cvc": "123"},
    )  # fmt: skip
    intent = None
    try:
        resources.PaymentMethod._api_attach(method.id, customer=invoice["customer"])
        intent = resources.PaymentIntent._api_create(
            amount=invoice["amount_remaining"],
            currency=invoice["currency"],
            customer=invoice["customer"],
            payment_method=method.id,
        )
        resources.PaymentIntent._api_confirm(intent.id)
    except UserError:
        pass  # declined: the intent keeps its last_payment_error, as Stripe's does
    succeeded = intent is not None and intent.status == "succeeded"
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    payment = {
        "id": _id("inpay_"),
        "object": "invoice_payment",
        "invoice": invoice["id"],
        "amount_paid": invoice["amount_remaining"] if succeeded else None,
        "amount_requested": invoice["amount_remaining"],
        "currency": invoice["currency"],
        "status": "paid" if succeeded else "open",
        "payment": {"type": "payment_intent", "payment_intent": intent.id if intent else None},
        "created": int(time.time()),
        "livemode": False,
    }
    invoice["payments"]["data"].append(payment)
    version = str(data.get("api_version") or "")
    if not succeeded:
        return server.json_response(_event("invoice.payment_failed", invoice, version))
    invoice["amount_paid"] += invoice["amount_remaining"]
    invoice["amount_remaining"] = 0
    _mark_paid(invoice, int(time.time()))
    return server.json_response(_event("invoice.paid", invoice, version))


_ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/invoices", invoice_create),
    ("GET", "/v1/invoices", invoice_list),
    ("GET", "/v1/invoices/{id}", invoice_retrieve),
    ("POST", "/v1/invoices/{id}/finalize", invoice_finalize),
    ("POST", "/v1/invoices/{id}/void", invoice_void),
    ("POST", "/v1/invoices/{id}/pay", invoice_pay),
    ("POST", "/v1/invoiceitems", item_create),
    ("GET", "/v1/invoiceitems", item_list),
    ("POST", "/v1/credit_notes", credit_note_create),
    ("GET", "/v1/credit_notes", credit_note_list),
    ("POST", "/_test/invoices/{id}/pay", hosted_pay),
]


def _match(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    parts = path.rstrip("/").split("/")
    for route_method, pattern, handler in _ROUTES:
        expected = pattern.split("/")
        if route_method != method or len(expected) != len(parts):
            continue
        if all(e == p or e == "{id}" for e, p in zip(expected, parts, strict=True)):
            ids = [p for e, p in zip(expected, parts, strict=True) if e == "{id}"]
            return handler, {"id": ids[0]} if ids else {}
    return None


@web.middleware
async def invoice_routes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer the invoice routes here, before localstripe's own."""
    matched = _match(request.method, request.path)
    if matched is None:
        return await handler(request)
    own, params = matched
    request["id"] = params.get("id", "")
    try:
        return await own(request)
    except UserError as error:
        return error.to_response()

"""A fake Stripe for the tests: localstripe, plus what it lacks, in one real process.

Run as `python -m tests.stripe_server --port N --keys sk_test_a,sk_test_b`. It serves
localstripe's stateful API (customers, payment methods, setup and payment intents,
refunds) and adds, in Stripe's wire format:

- API keys: only the listed secret keys are valid; any other key is a 401, as Stripe
  answers an unknown key (localstripe accepts any `sk_…`).
- `Idempotency-Key`: a POST repeated with the same key replays the first answer, as
  Stripe does for 24 hours (localstripe ignores the header).
- Invoices, invoice items and credit notes (tests/stripe_server_invoices.py), whose
  localstripe versions cannot take items added to a draft.
- `return_url` on a PaymentIntent's create (localstripe refuses it): a card that needs
  3-D Secure then has Stripe's `next_action` of type `redirect_to_url` (the page the
  payer authenticates on, and the `return_url` Stripe sends them back to); the payer's
  answer is localstripe's `POST /v1/payment_intents/{id}/_authenticate`.
  With `off_session` such a card is declined at once, as Stripe does: a 402 card error
  `authentication_required` naming the PaymentIntent, left `requires_payment_method`
  (localstripe takes the flag but ignores it).
- Checkout sessions (`/v1/checkout/sessions`), which localstripe does not have, and a
  test-only `POST /_test/checkout/sessions/{id}/complete` that plays the payer: it saves
  a test card on the session's customer (in payment mode, a PaymentIntent with the
  session's `payment_intent_data`: its metadata and `setup_future_usage`) and answers
  the `checkout.session.completed` event Stripe would send. The tests sign that event
  with the `stripe` library. `POST /v1/checkout/sessions/{id}/expire` closes an open
  session, whose page then takes nothing. `expires_at` is kept and checked as Stripe
  does (30 minutes to 24 hours after the session's creation, 24 hours when not given);
  a session past it reads `expired` and its page takes nothing.

localstripe's state lives in this process only (its disk dump is turned off: several
fakes may run at once on one machine).
"""

import argparse
import json
import secrets
import time
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

from tests.stripe_server_invoices import invoice_routes, live_mode


def _no_disk(*_: Any, **__: Any) -> None:
    return None


resources.Store.dump_to_disk = _no_disk  # type: ignore[method-assign]
resources.Store.try_load_from_disk = _no_disk  # type: ignore[method-assign]

VALID_KEYS: set[str] = set()
_REPLAYS: dict[tuple[str, str], tuple[int, bytes]] = {}
_SESSIONS: dict[str, dict[str, Any]] = {}


def _api_key(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value if scheme == "Bearer" else ""


@web.middleware
async def valid_keys_only(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/v1/") and _api_key(request) not in VALID_KEYS:
        key = _api_key(request)
        raise UserError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")
    return await handler(request)


@web.middleware
async def idempotent_posts(request: web.Request, handler: Any) -> web.StreamResponse:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    scope = (_api_key(request), key)
    if scope in _REPLAYS:
        status, body = _REPLAYS[scope]
        return web.Response(
            status=status,
            body=body,
            content_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await handler(request)
    except UserError as error:
        response = error.to_response()
    if isinstance(response, web.Response) and response.body is not None:
        _REPLAYS[scope] = (response.status, bytes(response.body))  # type: ignore[arg-type]
    return response


@web.middleware
async def intent_return_url(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method != "POST" or request.path.rstrip("/") != "/v1/payment_intents":
        return await handler(request)
    data = await server.get_post_data(request) or {}
    return_url = data.pop("return_url", None)
    expand = data.pop("expand", None)
    intent = resources.PaymentIntent._api_create(**data)
    off_session = str(data.get("off_session", "")).lower() == "true"
    if off_session and intent.status == "requires_action":
        # No payer is there to authenticate: Stripe declines at once (402,
        # `authentication_required`) and leaves the PaymentIntent waiting for another
        # payment method, where localstripe would wait for 3-D Secure.
        intent.next_action = None
        intent.payment_method = None
        raise UserError(
            402,
            "This payment required an authentication action to complete, but "
            "`off_session` was set to true.",
            {
                "code": "authentication_required",
                "decline_code": "authentication_required",
                "payment_intent": intent._export(),
            },
        )
    if return_url and intent.status == "requires_action":
        intent.next_action = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "url": f"http://{request.host}/_test/3ds/{intent.id}",
                "return_url": return_url,
            },
        }
    return server.json_response(intent._export(expand=expand))


def _session_json(session: dict[str, Any]) -> web.Response:
    return server.json_response(session)


async def checkout_session_create(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    mode = data.get("mode")
    if mode not in ("setup", "payment"):
        raise UserError(400, "Invalid mode: must be one of payment, setup, subscription")
    if not data.get("success_url"):
        raise UserError(400, "Missing required param: success_url.")
    customer = data.get("customer")
    if customer:
        resources.Customer._api_retrieve(customer)  # 404 for an unknown customer
    created = int(time.time())
    session_id = "cs_test_" + secrets.token_hex(12)
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": mode,
        "customer": customer,
        "success_url": data["success_url"],
        "cancel_url": data.get("cancel_url"),
        "client_reference_id": data.get("client_reference_id"),
        "metadata": data.get("metadata") or {},
        "payment_intent_data": data.get("payment_intent_data") or {},
        "currency": data.get("currency"),
        "amount_total": None,
        "status": "open",
        "payment_status": "unpaid",
        "setup_intent": None,
        "payment_intent": None,
        "livemode": live_mode(request),
        "created": created,
        "expires_at": _session_expiry(data, created),
        "url": f"http://{request.host}/_test/checkout/{session_id}",
    }
    if mode == "payment":
        items = data.get("line_items") or []
        session["amount_total"] = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        session["currency"] = items[0]["price_data"]["currency"] if items else None
    _SESSIONS[session_id] = session
    return _session_json(session)


SESSION_SHORTEST = 30 * 60
SESSION_LONGEST = 24 * 60 * 60


def _session_expiry(data: dict[str, Any], created: int) -> int:
    """Stripe's rule for `expires_at`: 30 minutes to 24 hours after creation."""
    if data.get("expires_at") in (None, ""):
        return created + SESSION_LONGEST
    expires_at = int(data["expires_at"])
    if expires_at < created + SESSION_SHORTEST:
        raise UserError(
            400,
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    if expires_at > created + SESSION_LONGEST:
        raise UserError(
            400,
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    return expires_at


def _session(request: web.Request) -> dict[str, Any]:
    session = _SESSIONS.get(request.match_info["id"])
    if session is None:
        raise UserError(404, "No such checkout.session")
    if session["status"] == "open" and session["expires_at"] <= time.time():
        session["status"] = "expired"
    return session


async def checkout_session_retrieve(request: web.Request) -> web.Response:
    return _session_json(_session(request))


async def checkout_session_expire(request: web.Request) -> web.Response:
    """Stripe's `POST /v1/checkout/sessions/{id}/expire`: only an open session expires;
    its page then takes no payment."""
    session = _session(request)
    if session["status"] != "open":
        raise UserError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
        )
    session["status"] = "expired"
    return _session_json(session)


async def checkout_session_complete(request: web.Request) -> web.Response:
    """The payer fills in `card` on the hosted page and submits it (an expired or
    completed session's page takes nothing)."""
    session = _session(request)
    if session["status"] != "open":
        raise UserError(400, f"This Checkout Session is {session['status']}.")
    data = await server.get_post_data(request) or {}
    number = data.get("card", "4242424242424242")
    if session["customer"] is None:
        session["customer"] = resources.Customer().id
    method = resources.PaymentMethod(
        type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    )
    resources.PaymentMethod._api_attach(method.id, customer=session["customer"])
    if session["mode"] == "setup":
        intent = resources.SetupIntent(customer=session["customer"])
        resources.SetupIntent._api_confirm(intent.id, payment_method=method.id)
        session["setup_intent"] = intent.id
    else:
        intent_data = session["payment_intent_data"]
        payment = resources.PaymentIntent._api_create(
            amount=session["amount_total"],
            currency=session["currency"],
            customer=session["customer"],
            payment_method=method.id,
            metadata=intent_data.get("metadata") or {},
            confirm=True,
        )
        # localstripe does not take it, but Stripe shows it on the PaymentIntent.
        payment.setup_future_usage = intent_data.get("setup_future_usage")
        session["payment_intent"] = payment.id
        session["payment_status"] = "paid" if payment.status == "succeeded" else "unpaid"
    session["status"] = "complete"
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": session["livemode"],
        "api_version": "2024-06-20",
        "data": {"object": session},
    }
    return server.json_response(event)


def build_app(keys: set[str]) -> web.Application:
    VALID_KEYS.update(keys)
    app = server.app
    app.middlewares.append(valid_keys_only)
    app.middlewares.append(idempotent_posts)
    app.middlewares.append(invoice_routes)
    app.middlewares.append(intent_return_url)
    app.router.add_post("/v1/checkout/sessions", checkout_session_create)
    app.router.add_get("/v1/checkout/sessions/{id}", checkout_session_retrieve)
    app.router.add_post("/v1/checkout/sessions/{id}/expire", checkout_session_expire)
    app.router.add_post("/_test/checkout/sessions/{id}/complete", checkout_session_complete)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", required=True, help="Comma-separated valid secret keys.")
    args = parser.parse_args()
    app = build_app(set(args.keys.split(",")))
    print(json.dumps({"listening": args.port}), flush=True)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

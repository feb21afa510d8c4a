"""The fake Stripe (tests/stripe_server.py) as a real process on a free loopback port,
and helpers to play Stripe's side in tests: sign events as Stripe does, complete a
Checkout session as the payer would.

The fixture never skips: a fake that cannot start fails the tests that need it.
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "sk_test_51FakeStripeSecretKeyForTests0000"
OTHER_KEY = "sk_test_51FakeStripeSecondKeyForTests0000"
LIVE_KEY = "sk_live_51FakeStripeLiveKeyForTests00000"
WEBHOOK_SECRET = "whsec_fake_stripe_signing_secret_for_tests"
PUBLISHABLE_KEY = "pk_test_51FakeStripePublishableKey"
LIVE_PUBLISHABLE_KEY = "pk_live_51FakeStripePublishableKey"


@dataclass
class FakeStripe:
    base_url: str
    secret_key: str = SECRET_KEY
    webhook_secret: str = WEBHOOK_SECRET

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            self.secret_key, base_addresses={"api": self.base_url}, max_network_retries=0
        )

    def complete_checkout(self, session_id: str, card: str = "4242424242424242") -> dict[str, Any]:
        """The payer submits `card` on the Checkout page; the event Stripe then sends."""
        response = httpx.post(
            f"{self.base_url}/_test/checkout/sessions/{session_id}/complete",
            data={"card": card},
            headers={"Authorization": f"Bearer {self.secret_key}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def signed(
    event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` Stripe would send, signed by the library."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at)
    return body.encode(), header


def stripe_event(type: str, obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", f"evt_{time.time_ns()}"),
        "object": "event",
        "type": type,
        "created": fields.pop("created", int(time.time())),
        "api_version": "2024-06-20",
        "data": {"object": obj},
        **fields,
    }


@pytest.fixture(scope="session")
def fake_stripe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeStripe]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("stripe") / "fake-stripe.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stripe_server", "--port", str(port),
         "--keys", f"{SECRET_KEY},{OTHER_KEY},{LIVE_KEY}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    fake = FakeStripe(base_url=f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the fake Stripe did not start:\n{log_path.read_text()[-3000:]}")
            try:
                response = httpx.get(
                    f"{fake.base_url}/v1/balance",
                    headers={"Authorization": f"Bearer {SECRET_KEY}"},
                    timeout=1,
                )
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield fake
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(autouse=True)
def _no_real_stripe(settings: Any) -> None:
    """No test reaches Stripe itself: a call from a test without the fake (a fuzzed
    request on a factory-made connection) meets a closed port at once."""
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripe, settings: Any, _no_real_stripe: None) -> FakeStripe:
    """The fake Stripe, with the server's `stripe` calls pointed at it."""
    settings.STRIPE_API_BASE = fake_stripe_server.base_url
    return fake_stripe_server


def post_stripe_event(
    workspace_id: str, event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> Any:
    """Stripe's call to the workspace's webhook URL (no token, only the signature). An
    event made without `livemode` gets the mode of the connection `secret` belongs to."""
    from rest_framework.test import APIClient

    from payments.models import PaymentGateway

    if "livemode" not in event:
        connection = PaymentGateway.objects.filter(
            workspace_id=workspace_id, webhook_secret=secret
        ).first()
        event["livemode"] = connection is not None and not connection.test_mode

    body, header = signed(event, secret, at)
    return APIClient().post(
        f"/webhooks/stripe/{workspace_id}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )


def checkout_session_id(url: str) -> str:
    """The session a Checkout page URL (from the fake) belongs to."""
    return url.rstrip("/").rsplit("/", 1)[1]

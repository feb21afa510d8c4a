"""The hosted checkout in a real browser (chromium through Playwright) against a live
server: success, decline and retry, and the authentication step. Screenshots are saved
under var/test-artifacts/.

In CI (CI=true) a missing browser fails the test instead of skipping it.
"""

import os
import shutil
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from billing.models import Workspace
from customers.tests.factories import CustomerFactory
from invoices.models import Invoice
from invoices.tests.factories import FinalizedInvoiceFactory
from payments.gateways import sandbox
from payments.models import Intent, PaymentLink
from payments.tests.factories import PaymentLinkFactory
from tests.conftest import make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run in CI: {reason}")
    pytest.skip(reason)


class BrowserThread:
    """Playwright's sync API runs an event loop in its thread, which would make Django
    hand the test's ORM calls another connection (asgiref's Local is per task there);
    so the browser lives in a thread of its own and every call is sent to it."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1)

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        return self._executor.submit(function, *args).result()

    def shutdown(self) -> None:
        self._executor.shutdown()


@pytest.fixture(scope="module")
def chromium() -> Iterator[tuple[BrowserThread, Any]]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (make install)")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        _unavailable(f"no chromium at {CHROMIUM}")
    thread = BrowserThread()
    playwright = thread.run(lambda: sync_playwright().start())
    browser = thread.run(
        lambda: playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
    )
    yield thread, browser
    thread.run(browser.close)
    thread.run(playwright.stop)
    thread.shutdown()


class Checkout:
    """The hosted page as a payer uses it; every step runs in the browser's thread."""

    def __init__(self, thread: BrowserThread, page: Any, base_url: str) -> None:
        self.thread, self.page, self.base_url = thread, page, base_url
        # What the browser reports: a Content-Security-Policy violation is a console
        # error ("Refused to load/apply/execute … because it violates …").
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))

    def open(self, link: PaymentLink) -> None:
        url = f"{self.base_url}/publishable/payment_links/links/{link.publishable_key}/hosted/"
        self.thread.run(self.page.goto, url)

    def pay(self, number: str) -> None:
        def fill() -> None:
            self.page.get_by_label("Card number").fill(number)
            self.page.get_by_label("Expiry (MM/YY)").fill("12/34")
            self.page.get_by_label("CVC").fill("123")
            self.page.get_by_role("button", name="Pay").click()
            self.page.wait_for_load_state()

        self.thread.run(fill)

    def click(self, role: str, name: str) -> None:
        self.thread.run(lambda: self.page.get_by_role(role, name=name).click())

    def text(self, role: str = "", test_id: str = "") -> str:
        def read() -> str:
            found = self.page.get_by_test_id(test_id) if test_id else self.page.get_by_role(role)
            return str(found.inner_text())

        return str(self.thread.run(read))

    def value(self, label: str) -> str:
        return str(self.thread.run(lambda: self.page.get_by_label(label).input_value()))

    def link_href(self, name: str) -> str:
        return str(
            self.thread.run(lambda: self.page.get_by_role("link", name=name).get_attribute("href"))
        )

    def computed_style(self, role: str, name: str, css_property: str) -> str:
        def read() -> str:
            element = self.page.get_by_role(role, name=name)
            return str(
                element.evaluate(f"e => getComputedStyle(e).getPropertyValue('{css_property}')")
            )

        return str(self.thread.run(read))

    def html(self) -> str:
        return str(self.thread.run(self.page.content))

    def screenshot(self, name: str) -> None:
        path = str(ARTIFACTS / f"checkout-{name}.png")
        self.thread.run(lambda: self.page.screenshot(path=path, full_page=True))


@pytest.fixture
def checkout(chromium, live_server) -> Iterator[Checkout]:
    thread, browser = chromium
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A phone-sized viewport: the page must work there.
    context = thread.run(
        lambda: browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    )
    page = thread.run(context.new_page)
    yield Checkout(thread, page, live_server.url)
    thread.run(context.close)


@pytest.fixture
def link(db):
    tenant = make_tenant()
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace)
    return PaymentLinkFactory(
        workspace=tenant.workspace,
        invoice=invoice,
        customer=invoice.customer,
        amount=invoice.total_adjusted,
        description="Invoice 1 — January",
        return_url="https://shop.example.com/thanks",
    )


def test_paying_with_the_success_card(checkout, link):
    checkout.open(link)
    assert checkout.text(test_id="amount") == "$1.190"
    assert "Invoice 1 — January" in checkout.html()
    checkout.screenshot("form")

    checkout.pay("4242 4242 4242 4242")

    assert checkout.text(test_id="outcome") == "Payment successful"
    checkout.screenshot("success")
    intent = Intent.objects.select_related("payment").get(payment_link=link)
    assert intent.status == "finalized"
    assert intent.payment.status == "succeeded"
    assert Invoice.objects.get(pk=link.invoice_id).status == "paid"
    assert checkout.link_href(f"Return to {link.workspace.name}") == (
        f"https://shop.example.com/thanks?intent={intent.id}&status=finalized"
    )
    checkout.open(link)
    assert "already been paid" in checkout.text(test_id="outcome")


def test_a_declined_card_shows_the_error_and_a_retry_succeeds(checkout, link):
    checkout.open(link)

    checkout.pay(sandbox.DECLINED)

    assert "declined" in checkout.text(role="alert")
    assert checkout.value("Card number") == ""
    checkout.screenshot("declined")
    checkout.pay(sandbox.SUCCEEDS)
    assert checkout.text(test_id="outcome") == "Payment successful"
    statuses = sorted(Intent.objects.filter(payment_link=link).values_list("status", flat=True))
    assert statuses == ["failed", "finalized"]
    assert Invoice.objects.get(pk=link.invoice_id).status == "paid"


def test_the_authentication_card_goes_through_its_step(checkout, link):
    checkout.open(link)

    checkout.pay(sandbox.REQUIRES_AUTHENTICATION)

    assert "confirm this payment" in checkout.text(role="status")
    assert Invoice.objects.get(pk=link.invoice_id).status == "pending"
    checkout.screenshot("authentication")
    checkout.click("button", "Confirm payment")
    assert checkout.text(test_id="outcome") == "Payment successful"
    checkout.screenshot("authenticated")
    intent = Intent.objects.get(payment_link=link)
    assert intent.status == "finalized"
    assert Invoice.objects.get(pk=link.invoice_id).status == "paid"


def test_the_pages_work_under_their_content_security_policy(checkout, link):
    checkout.open(link)
    # The stylesheet loaded under `style-src 'self'`: the button has the accent colour.
    assert checkout.computed_style("button", "Pay", "background-color") == "rgb(47, 91, 234)"

    checkout.pay(sandbox.REQUIRES_AUTHENTICATION)
    checkout.click("button", "Confirm payment")

    assert checkout.text(test_id="outcome") == "Payment successful"
    violations = [m for m in checkout.console if "Content Security Policy" in m]
    assert violations == []
    checkout.screenshot("under-csp")


# Each state of the page, in both languages, on a desktop and on a phone.
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LABELS = {
    "en": {
        "number": "Card number",
        "expiry": "Expiry (MM/YY)",
        "pay": "Pay",
        "name": "Name on card",
    },
    "es": {
        "number": "Número de tarjeta",
        "expiry": "Vencimiento (MM/AA)",
        "pay": "Pagar",
        "name": "Nombre en la tarjeta",
    },
}


def _horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than its viewport (0 when it fits)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_state_fits_the_screen_in_both_languages(
    chromium, live_server, logo_server, language, size
):
    """Also the screenshots in docs/checkout/: a merchant with its logo, served from its
    own host."""
    thread, browser = chromium
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        name="Demo Servicios Digitales SpA", logo_url=logo_server.replace(".png", ".svg")
    )
    invoice = FinalizedInvoiceFactory(workspace=tenant.workspace, test_mode=True)
    link = PaymentLinkFactory(
        workspace=tenant.workspace,
        test_mode=True,
        invoice=invoice,
        customer=invoice.customer,
        amount=invoice.total_adjusted,
        # A long unbroken reference, as payers paste them: it must wrap, not widen the page.
        description="Ref.OC-2026-000000000000000000000000000000000000000000000178",
    )
    labels = LABELS[language]
    url = f"{live_server.url}/publishable/payment_links/links/{link.publishable_key}/hosted/"

    def walk() -> dict[str, int]:
        context = browser.new_context(viewport=SIZES[size], locale=language)
        page = context.new_page()
        overflow = {}

        def shoot(state: str) -> None:
            overflow[state] = _horizontal_overflow(page)
            page.screenshot(
                path=str(ARTIFACTS / f"checkout-{language}-{size}-{state}.png"), full_page=True
            )

        def pay(number: str) -> None:
            page.get_by_label(labels["number"]).fill(number)
            page.get_by_label(labels["expiry"]).fill("12/34")
            page.get_by_label("CVC").fill("123")
            page.get_by_role("button", name=labels["pay"]).click()
            page.wait_for_load_state()

        page.goto(url)
        assert page.get_by_test_id("test-mode").is_visible()
        # Drawn: an image the page's policy refused would have no natural width.
        logo = page.get_by_test_id("logo")
        assert logo.evaluate("img => img.complete && img.naturalWidth") == 168
        shoot("form")
        page.get_by_label(labels["name"]).fill("Ana Rojas")
        pay(sandbox.DECLINED)
        assert page.get_by_label(labels["name"]).input_value() == "Ana Rojas"
        assert page.get_by_label(labels["number"]).input_value() == ""
        shoot("declined")
        pay(sandbox.SUCCEEDS)
        assert page.get_by_test_id("outcome").is_visible()
        shoot("success")
        context.close()
        return overflow

    overflow = thread.run(walk)

    assert overflow == {"form": 0, "declined": 0, "success": 0}
    assert Invoice.objects.get(pk=link.invoice_id).status == "paid"


def _png(width: int, height: int) -> bytes:
    """A plain blue PNG, written by hand so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x2f\x5b\xea" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# A merchant's logo as merchants draw them: a mark and the name, 168 × 40.
LOGO_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="168" height="40" viewBox="0 0 168 40">
<rect width="40" height="40" rx="9" fill="#2f5bea"/>
<path d="M12 10h8a10 10 0 0 1 0 20h-8z" fill="#fff"/>
<circle cx="20" cy="20" r="4" fill="#2f5bea"/>
<text x="50" y="27" font-family="DejaVu Sans, Arial, sans-serif" font-size="19"
 font-weight="700" fill="#1a2240">Demo SpA</text>
</svg>"""


@pytest.fixture
def logo_server() -> Iterator[str]:
    """The merchant's own host for its logo (a PNG, or the SVG at .svg): another origin
    than the checkout's."""
    images = {".png": (_png(120, 40), "image/png"), ".svg": (LOGO_SVG, "image/svg+xml")}

    class Logo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            image, content_type = images[Path(self.path).suffix]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Logo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/brand/logo.png"
    server.shutdown()
    server.server_close()


def test_the_merchants_logo_shows_under_the_pages_policy(checkout, link, logo_server):
    Workspace.objects.filter(pk=link.workspace_id).update(logo_url=logo_server)

    checkout.open(link)

    def loaded_width() -> int:
        logo = checkout.page.get_by_test_id("logo")
        logo.wait_for()
        # naturalWidth stays 0 when the policy (img-src) refuses the image.
        return int(logo.evaluate("img => img.complete ? img.naturalWidth : -1"))

    assert checkout.thread.run(loaded_width) == 120
    assert checkout.thread.run(lambda: checkout.page.get_by_test_id("logo").is_visible())
    assert [m for m in checkout.console if "Content Security Policy" in m] == []
    checkout.screenshot("logo")


def test_the_save_card_page_says_what_to_fix_as_the_checkout_does(checkout, db):
    tenant = make_tenant()
    customer = CustomerFactory(workspace=tenant.workspace)
    url = tenant.client.post(
        f"/customers/{customer.id}/setup_intent/",
        {"success_url": "https://shop.example.com/ok"},
        format="json",
    ).json()["url"]
    page = checkout.page

    def save_without_the_card() -> None:
        page.goto(checkout.base_url + urlsplit(url).path)
        page.get_by_label("Name on card").fill("Ana Rojas")
        page.get_by_role("button", name="Save card").click()
        page.wait_for_load_state()

    checkout.thread.run(save_without_the_card)

    assert checkout.text(role="alert") == "Check the fields marked below."
    assert checkout.value("Name on card") == "Ana Rojas"
    assert checkout.value("Card number") == ""
    checkout.screenshot("save-card-invalid")

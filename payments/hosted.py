"""The hosted checkout: public HTML pages addressed by a link's publishable key or an
intent's client secret.

The card number arrives in the POST, is tokenized in memory by the gateway and is then
forgotten: it is never written, logged, or echoed back into the page (the form is
re-rendered without it). `sensitive_post_parameters` keeps it out of error reports.
"""

import contextlib
import math
import secrets
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from billing.clock import clock_now_for
from billing.errors import DomainError, InvalidInput
from billing.links import public_url
from billing.models import Workspace
from billing.money_display import format_money
from customers.models import Customer
from invoices.models import Invoice
from payments import services
from payments.api.throttling import hosted_card_attempt_wait
from payments.choices import GatewayKind, IntentStatus, PaymentStatus
from payments.gateways.base import CardInput
from payments.models import Intent, PaymentLink
from payments.services.checkout import CHECKOUT_GATEWAY

CARD_FIELDS = ("card_number", "cvc")


# The pages take card numbers: they run no script at all, load styles and images only
# from this server (and the merchant's logo from its host), post forms only back to it,
# and may not be framed (clickjacking). Referrer-Policy keeps the link's key from the
# logo's host.
def content_security_policy(logo_url: str = "") -> str:
    """The pages' policy; a merchant's logo hosted elsewhere adds its origin to img-src."""
    images = "img-src 'self'"
    origin = _origin(logo_url)
    if origin:
        images += f" {origin}"
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            images,
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def _origin(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, rebuilt from its parsed parts so nothing
    else of the URL (user info, a `;`) can reach the header; "" when there is none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    # A plain host name or IPv4 address; anything else shows no logo.
    if not all(c.isascii() and (c.isalnum() or c in ".-") for c in parts.hostname):
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


FAILURE_MESSAGES = {
    "card_declined": _("Your card was declined. Try another card."),
    "insufficient_funds": _("Your card has insufficient funds. Try another card."),
    "authentication_failed": _("The card's authentication failed. Try again or use another card."),
    "authentication_required": _("This card needs you to authenticate the payment."),
}


def _refusal_for_payer(refused: DomainError) -> Promise:
    """What a payer is told when the server refuses a checkout. The refusal's own detail
    is for the API caller: it names invoices and other checkouts, which a payer's page
    must never show. Lazy: worded when the page renders, in the page's language."""
    if refused.code.startswith("stripe_") and refused.code.endswith("unavailable"):
        return _("The payment service is not available right now. Try again shortly.")
    if refused.code.startswith("stripe_"):
        return _("The payment service refused this payment. Ask the seller for help.")
    if "expired" in refused.code:
        return _("This payment has expired. Ask the seller for a new link.")
    return _("This payment can no longer be made here. Ask the seller for a new link.")


# The pages speak these; the payer's Accept-Language picks one, else the workspace's country.
PAGE_LANGUAGES = ("es", "en")
SPANISH_SPEAKING = {"AR", "BO", "CL", "CO", "CR", "EC", "ES", "GT", "MX", "PE", "PY", "UY", "VE"}


class CardForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    card_number = forms.CharField(max_length=32)
    expiry = forms.RegexField(
        regex=r"^\s*(0?[1-9]|1[0-2])\s*/\s*(\d{2}|\d{4})\s*$",
        max_length=9,
        error_messages={"invalid": _("Enter the expiry as MM/YY.")},
    )
    cvc = forms.RegexField(regex=r"^\d{3,4}$", error_messages={"invalid": _("3 or 4 digits.")})

    @sensitive_variables("number")
    def card(self) -> CardInput:
        month, year = (part.strip() for part in self.cleaned_data["expiry"].split("/"))
        full_year = int(year) + 2000 if len(year) == 2 else int(year)
        number = self.cleaned_data["card_number"]
        return CardInput(number=number, exp_month=int(month), exp_year=full_year)


def page_language(accept_language: str, workspace: Workspace | None) -> str:
    """The first of our languages the payer's browser asks for, by preference; else
    Spanish for a workspace of a Spanish-speaking country, English for any other."""
    ranked = []
    for position, entry in enumerate(accept_language.split(",")):
        tag, _sep, params = entry.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag.split("-")[0].lower()))
    for quality, _position, language in sorted(ranked):
        if quality < 0 and language in PAGE_LANGUAGES:
            return language
    spanish = workspace is not None and workspace.country_id in SPANISH_SPEAKING
    return "es" if spanish else "en"


def _display(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


def _render(
    request: HttpRequest,
    template: str,
    status: int = 200,
    *,
    owner: PaymentLink | Intent | Customer | None,
    **context: Any,
) -> HttpResponse:
    # A page with no owner (an expired card-setup link) knows no workspace.
    workspace = owner.workspace if owner is not None else None
    language = page_language(request.headers.get("Accept-Language", ""), workspace)
    context["test_mode"] = owner is not None and owner.test_mode
    context["sandbox"] = CHECKOUT_GATEWAY == GatewayKind.SANDBOX
    logo_url = workspace.logo_url if workspace is not None else ""
    context["logo_url"] = logo_url if _origin(logo_url) else ""
    with translation.override(language):
        response = render(request, f"payments/{template}", context, status=status)
    response["Content-Language"] = language
    response["Vary"] = "Accept-Language"
    # The link's key is in the URL: never send it to another site.
    response["Referrer-Policy"] = "same-origin"
    response["Content-Security-Policy"] = content_security_policy(context["logo_url"])
    response["X-Frame-Options"] = "DENY"
    return response


def _unavailable(request: HttpRequest, link: PaymentLink, state: str) -> HttpResponse:
    return _render(
        request,
        "unavailable.html",
        status=200 if state == "paid" else 410,
        owner=link,
        workspace=link.workspace.name,
        state=state,
        description=link.description,
    )


def _with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query, before any `#fragment`: the shop's server
    never receives what follows the `#`."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def _result_context(intent: Intent) -> dict[str, Any]:
    payment = intent.payment
    reason = intent.failed_reason or (payment.failed_reason if payment else "")
    return_url = ""
    if intent.return_url:
        return_url = _with_query(intent.return_url, intent=intent.id, status=str(intent.status))
    return {
        "intent": intent,
        "amount": _display(intent.amount, intent.currency_id),
        "workspace": intent.workspace.name,
        "message": FAILURE_MESSAGES.get(reason, "The payment could not be completed."),
        "return_url": return_url,
        "awaiting_authentication": (
            intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD
            and payment is not None
            and payment.status == PaymentStatus.PROCESSING
        ),
    }


# How long a link's checkout form stays good to submit; then the payer reloads it.
ATTEMPT_TOKEN_MAX_AGE = timedelta(days=1)


def _attempt_signer(link: PaymentLink) -> signing.TimestampSigner:
    # Salted with the link's key: a form of one link is no token for another.
    return signing.TimestampSigner(salt=f"payments.checkout-attempt:{link.publishable_key}")


def _new_attempt_token(link: PaymentLink) -> str:
    """A token for one rendered form of the link: what tells its second submit apart
    from a new payment."""
    return _attempt_signer(link).sign(secrets.token_urlsafe(18))


def _posted_attempt(request: HttpRequest, link: PaymentLink) -> str | None:
    """The nonce of the form posted to the link, or None when the form carries no token
    of this link's or an expired one."""
    try:
        return _attempt_signer(link).unsign(
            request.POST.get("attempt", ""), max_age=ATTEMPT_TOKEN_MAX_AGE
        )
    except signing.BadSignature:
        return None


def _checkout(
    request: HttpRequest,
    *,
    owner: PaymentLink | Intent,
    workspace: str,
    amount: str,
    description: str,
    invoice: Invoice | None,
    form: CardForm,
    # A lazy message is worded when the page renders, in the page's language.
    error: str | Promise = "",
    status: int = 200,
) -> HttpResponse:
    # Every form of a link's page is a new attempt; an intent's page is one already.
    attempt = _new_attempt_token(owner) if isinstance(owner, PaymentLink) else ""
    return _render(
        request,
        "checkout.html",
        status=status,
        owner=owner,
        workspace=workspace,
        amount=amount,
        description=description,
        invoice=invoice,
        form=form,
        error=error,
        attempt=attempt,
        # The payer is told before paying that the card is kept.
        saves_card=owner.save_card_and_make_default and owner.customer_id is not None,
    )


def _page(owner: PaymentLink | Intent, amount: Decimal) -> dict[str, Any]:
    return {
        "owner": owner,
        "workspace": owner.workspace.name,
        "amount": _display(amount, owner.currency_id),
        "description": getattr(owner, "description", ""),
        # What is being paid, when it is an invoice: its type, number and due date.
        "invoice": owner.invoice,
    }


def _keep_name(form: CardForm) -> CardForm:
    """A fresh form for another try, keeping the cardholder's name (never the card)."""
    return CardForm(initial={"name": form.cleaned_data.get("name", "")})


# The gateway's refusal of the card (`card.<field>`) is shown on the page's own field.
CARD_ERROR_FIELDS = {
    "card.number": "card_number",
    "card.exp_month": "expiry",
    "card.exp_year": "expiry",
}


def _add_refusal(form: CardForm, invalid: InvalidInput) -> None:
    """The refused input's messages on the form, in the page's language (the gateway
    words them in English, marked for translation), each on its field when it has one."""
    for key, messages in invalid.errors.items():
        for message in messages:
            form.add_error(CARD_ERROR_FIELDS.get(key), _(str(message)))


def _card_attempt_refused(request: HttpRequest, key: str) -> float | None:
    """A card posted to a page opened by `key` spends the publishable budgets (per key,
    per address), so no script tries cards endlessly: the seconds to wait once they
    are spent, else None. Opening a page spends nothing."""
    if request.method != "POST":
        return None
    return hosted_card_attempt_wait(request, key)


def _too_many_attempts(response: HttpResponse, wait: float) -> HttpResponse:
    response["Retry-After"] = str(math.ceil(wait))
    return response


TOO_MANY_ATTEMPTS = _("Too many payment attempts. Wait a while, then try again.")


def _checkout_limited(request: HttpRequest, page: dict[str, Any], wait: float) -> HttpResponse:
    limited = _checkout(request, form=CardForm(), error=TOO_MANY_ATTEMPTS, status=429, **page)
    return _too_many_attempts(limited, wait)


def _pay_with_posted_card(
    request: HttpRequest,
    page: dict[str, Any],
    pay: Callable[[CardInput], Intent],
    *,
    link: PaymentLink | None = None,
) -> Intent | HttpResponse:
    """The checkout form (GET), or the intent paid with the posted card; a card or
    payment refused shows the form again, and a link that closed meanwhile says so."""
    if request.method == "GET":
        return _checkout(request, form=CardForm(), **page)
    form = CardForm(request.POST)
    if not form.is_valid():
        return _checkout(request, form=form, status=400, **page)
    try:
        return pay(form.card())
    except InvalidInput as invalid:
        _add_refusal(form, invalid)
        return _checkout(request, form=form, status=400, **page)
    except DomainError as refused:
        if link is not None and refused.code.startswith("payment_link_"):
            return _unavailable(request, link, refused.code.removeprefix("payment_link_"))
        return _checkout(
            request, form=_keep_name(form), error=_refusal_for_payer(refused), status=409, **page
        )


def _checkout_at_stripe(
    request: HttpRequest, link: PaymentLink, key: str, now: Any
) -> HttpResponse | None:
    """With Stripe connected the payer pays on Stripe Checkout, then comes back to the
    intent's page, which shows the payment once Stripe's event has recorded it."""
    back = reverse("payment-link-hosted-intent", kwargs={"key": key, "intent_id": "{INTENT}"})
    try:
        started = services.payment_link_checkout_at_gateway(
            link=link,
            success_url=public_url(back).replace("%7BINTENT%7D", "{INTENT}"),
            cancel_url=public_url(request.path),
            now=now,
        )
    except DomainError as refused:
        page = _page(link, services.payment_link_amount(link))
        return _checkout(
            request, form=CardForm(), error=_refusal_for_payer(refused), status=409, **page
        )
    return None if started is None else HttpResponseRedirect(started[1])


@never_cache
@sensitive_post_parameters(*CARD_FIELDS)
@require_http_methods(["GET", "POST"])
def link_checkout(request: HttpRequest, key: str) -> HttpResponse:
    link = get_object_or_404(
        PaymentLink.objects.select_related("workspace", "invoice__document"), publishable_key=key
    )
    now = clock_now_for(link)
    state = services.payment_link_state(link, now)
    if state != "open":
        return _unavailable(request, link, state)
    if request.method == "GET":
        at_stripe = _checkout_at_stripe(request, link, key, now)
        if at_stripe is not None:
            return at_stripe
    amount = services.payment_link_amount(link)
    page = _page(link, amount)
    wait = _card_attempt_refused(request, key)
    if wait is not None:
        return _checkout_limited(request, page, wait)
    attempt = _posted_attempt(request, link) if request.method == "POST" else ""
    if attempt is None:
        stale = _("This form has expired. Enter your card again.")
        return _checkout(request, form=CardForm(), error=stale, status=400, **page)
    intent = _pay_with_posted_card(
        request,
        page,
        lambda card: services.payment_link_pay(link=link, card=card, attempt=attempt, now=now),
        link=link,
    )
    if isinstance(intent, HttpResponse):
        return intent
    if intent.status == IntentStatus.FAILED:
        message = _result_context(intent)["message"]
        form = CardForm(request.POST)
        form.is_valid()  # it was: the card went to the gateway
        return _checkout(request, form=_keep_name(form), error=message, status=402, **page)
    return HttpResponseRedirect(
        reverse("payment-link-hosted-intent", kwargs={"key": key, "intent_id": intent.id})
    )


def _intent_page(request: HttpRequest, intent: Intent, retry_url: str) -> HttpResponse:
    """The authentication step (POST answers it), or the outcome."""
    decision = request.POST.get("decision") if request.method == "POST" else None
    if decision in ("approve", "reject"):
        # A double submit finds it answered already: the page then shows where it stands.
        with contextlib.suppress(DomainError):
            services.intent_complete_authentication(
                intent=intent, approved=decision == "approve", now=clock_now_for(intent)
            )
    if request.method == "POST":
        # Any other POST (the card form sent again) answers nothing: show where it stands.
        return HttpResponseRedirect(request.path)
    context = _result_context(intent)
    if intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD and intent.payment_id is None:
        # Back from the gateway's own page before its event recorded the payment.
        return _render(request, "confirming.html", owner=intent, **context)
    if context["awaiting_authentication"]:
        return _render(request, "authenticate.html", owner=intent, **context)
    if intent.status == IntentStatus.FINALIZED:
        return _render(request, "success.html", owner=intent, **context)
    return _render(
        request, "failure.html", status=402, owner=intent, retry_url=retry_url, **context
    )


@never_cache
@require_http_methods(["GET", "POST"])
def link_intent(request: HttpRequest, key: str, intent_id: str) -> HttpResponse:
    link = get_object_or_404(PaymentLink, publishable_key=key)
    intent = get_object_or_404(
        Intent.objects.select_related("workspace", "payment"), pk=intent_id, payment_link=link
    )
    retry = reverse("payment-link-hosted", kwargs={"key": key})
    return _intent_page(request, intent, retry)


@never_cache
@sensitive_post_parameters(*CARD_FIELDS)
@require_http_methods(["GET", "POST"])
def intent_checkout(request: HttpRequest, secret: str) -> HttpResponse:
    """An intent created through the API, paid by its payer on this page."""
    intent = get_object_or_404(
        Intent.objects.select_related("workspace", "payment", "invoice__document"),
        client_secret=secret,
    )
    now = clock_now_for(intent)
    if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD or intent.payment_id:
        return _intent_page(request, intent, retry_url="")
    page = _page(intent, intent.amount)
    if request.method == "GET" and request.GET.get("checkout") == "returned":
        # Back from Stripe Checkout: the page waits for Stripe's event, not the redirect.
        return _intent_page(request, intent, retry_url="")
    if request.method == "GET":
        try:
            at_stripe = services.intent_checkout_at_gateway(
                intent=intent,
                success_url=_with_query(public_url(request.path), checkout="returned"),
                cancel_url=intent.return_url or public_url(request.path),
                now=now,
            )
        except DomainError as refused:
            return _checkout(
                request, form=CardForm(), error=_refusal_for_payer(refused), status=409, **page
            )
        if at_stripe is not None:
            return HttpResponseRedirect(at_stripe)
    wait = _card_attempt_refused(request, secret)
    if wait is not None:
        return _checkout_limited(request, page, wait)
    paid = _pay_with_posted_card(request, page, lambda card: _pay_intent(intent, card, now))
    if isinstance(paid, HttpResponse):
        return paid
    return HttpResponseRedirect(request.path)


def _pay_intent(intent: Intent, card: CardInput, now: Any) -> Intent:
    """The intent paid with the card; a form sent again while the first submit was
    paying (a double click) finds the intent answered, and the page then shows where it
    stands rather than refusing a payment that was made."""
    try:
        return services.intent_pay_with_card(intent=intent, card=card, now=now)
    except DomainError as refused:
        if refused.code != "intent_invalid_transition":
            raise
        return Intent.objects.get(pk=intent.pk)


@never_cache
@sensitive_post_parameters(*CARD_FIELDS)
@require_http_methods(["GET", "POST"])
def card_setup(request: HttpRequest, token: str) -> HttpResponse:
    """Save a card for a customer without Stripe: the sandbox's test cards. The page is
    opened by the signed token `POST /customers/{id}/setup_intent/` answered."""
    opened = services.card_setup_open(token=token)
    if opened is None:
        return _render(request, "setup_expired.html", status=410, owner=None)
    customer, pages = opened
    context: dict[str, Any] = {
        "workspace": customer.workspace.name,
        "cancel_url": pages["cancel_url"],
    }
    wait = _card_attempt_refused(request, token)
    if wait is not None:
        limited = _render(
            request,
            "setup.html",
            status=429,
            owner=customer,
            form=CardForm(),
            error=TOO_MANY_ATTEMPTS,
            **context,
        )
        return _too_many_attempts(limited, wait)
    if request.method == "GET":
        return _render(request, "setup.html", owner=customer, form=CardForm(), **context)
    # As on the checkout: bad input or a card the gateway refuses is marked on its
    # field; a decline says so; the cardholder's name is kept, never the card.
    form = CardForm(request.POST)
    if not form.is_valid():
        return _render(request, "setup.html", status=400, owner=customer, form=form, **context)
    try:
        source = services.source_save_card_for_customer(
            customer=customer, card=form.card(), now=clock_now_for(customer)
        )
    except InvalidInput as invalid:
        _add_refusal(form, invalid)
        return _render(request, "setup.html", status=400, owner=customer, form=form, **context)
    except DomainError as refused:
        # Lazy messages: worded when the page renders, in the page's language.
        status, error = 409, _refusal_for_payer(refused)
        if isinstance(refused, services.CardDeclined):
            declined = FAILURE_MESSAGES["card_declined"]
            status, error = 402, FAILURE_MESSAGES.get(refused.failed_reason, declined)
        return _render(
            request,
            "setup.html",
            status=status,
            owner=customer,
            form=_keep_name(form),
            error=error,
            **context,
        )
    return HttpResponseRedirect(_with_query(pages["success_url"], source=source.id))

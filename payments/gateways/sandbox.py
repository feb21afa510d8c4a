"""The built-in sandbox gateway: test cards with fixed behaviours, no network.

Its tokens name the test behaviour (a real gateway's name a card in its vault); nothing
of the card number but the last four digits leaves `tokenize`.
"""

from decimal import Decimal

from django.utils.translation import gettext_noop
from ulid import ULID

from payments.gateways.base import (
    CardInput,
    CardRejected,
    ChargeOutcome,
    ChargeResult,
    Gateway,
    RefundResult,
    TokenizedCard,
)

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"
REQUIRES_AUTHENTICATION = "4000002500003155"

# Test card → behaviour code carried by its token.
_BEHAVIOURS = {
    SUCCEEDS: "ok",
    DECLINED: "dc",
    INSUFFICIENT_FUNDS: "nf",
    REQUIRES_AUTHENTICATION: "3d",
}
_FAILURES = {"dc": "card_declined", "nf": "insufficient_funds"}


def luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalize_card_number(raw: str) -> str:
    return "".join(ch for ch in raw if ch not in " -")


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"}:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def _behaviour(token: str) -> str:
    # tok_<ULID>_<behaviour>
    parts = token.split("_")
    if len(parts) != 3 or parts[0] != "tok" or parts[2] not in _BEHAVIOURS.values():
        return ""
    return parts[2]


class SandboxGateway(Gateway):
    kind = "sandbox"

    def tokenize(self, card: CardInput, *, today_year: int, today_month: int) -> TokenizedCard:
        number = normalize_card_number(card.number)
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_valid(number):
            raise CardRejected("number", gettext_noop("This is not a valid card number."))
        behaviour = _BEHAVIOURS.get(number)
        if behaviour is None:
            # Real cards are never accepted: the sandbox must not see them.
            raise CardRejected("number", gettext_noop("The sandbox accepts only its test cards."))
        if not 1 <= card.exp_month <= 12:
            raise CardRejected("exp_month", gettext_noop("The expiry month is 1 to 12."))
        if (card.exp_year, card.exp_month) < (today_year, today_month):
            raise CardRejected("exp_year", gettext_noop("This card has expired."))
        return TokenizedCard(
            token=f"tok_{ULID()}_{behaviour}",
            brand=_brand(number),
            last4=number[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    def charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        off_session: bool,
        reference: str,
        return_url: str = "",
    ) -> ChargeResult:
        behaviour = _behaviour(token)
        charge_id = f"ch_sandbox_{reference}"
        if not behaviour:
            return ChargeResult(ChargeOutcome.FAILED, charge_id, "invalid_token")
        if behaviour in _FAILURES:
            return ChargeResult(ChargeOutcome.FAILED, charge_id, _FAILURES[behaviour])
        if behaviour == "3d":
            if off_session:
                return ChargeResult(ChargeOutcome.FAILED, charge_id, "authentication_required")
            return ChargeResult(ChargeOutcome.REQUIRES_ACTION, charge_id)
        return ChargeResult(ChargeOutcome.SUCCEEDED, charge_id)

    def verify(self, *, token: str) -> str:
        # The declined card is refused by its issuer outright; the others are good cards
        # (lacking funds, or needing the payer's step, only when charged).
        return "card_declined" if _behaviour(token) in ("", "dc") else ""

    def complete_action(self, *, reference: str, approved: bool) -> ChargeResult:
        if approved:
            return ChargeResult(ChargeOutcome.SUCCEEDED, reference)
        return ChargeResult(ChargeOutcome.FAILED, reference, "authentication_failed")

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str = ""
    ) -> RefundResult:
        return RefundResult(reference=f"re_sandbox_{ULID()}")

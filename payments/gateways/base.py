"""What every gateway offers. The sandbox implements it in process; a Stripe gateway
will implement it with the official library.

A gateway never hands a card number back: tokenizing returns an opaque token and the
card's display fields, and every later call names the token.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # The payer must complete an extra authentication step before the charge settles.
    REQUIRES_ACTION = "requires_action"


@dataclass(frozen=True)
class CardInput:
    """A card as the payer typed it. Lives only in memory, for the tokenize call."""

    number: str
    exp_month: int
    exp_year: int

    def __repr__(self) -> str:
        # Never let a traceback or a log line print the number.
        return f"CardInput(number='…{self.number[-4:]}', exp={self.exp_month}/{self.exp_year})"


@dataclass(frozen=True)
class TokenizedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    reference: str
    failed_reason: str = ""
    # REQUIRES_ACTION: the gateway's page where the payer authenticates, when it has one.
    action_url: str = ""


@dataclass(frozen=True)
class RefundResult:
    reference: str


# The CardInput field a rejection is about.
CardField = Literal["number", "exp_month", "exp_year"]


class CardRejected(Exception):
    """The card cannot be tokenized (not a card number, expired, not a test card)."""

    def __init__(self, field: CardField, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Gateway(ABC):
    kind: str
    # A remote gateway answers over the network: it is called with no database
    # transaction open (no row lock waits on it, and no rollback can lose its charge).
    remote: bool = False

    def check_amount(self, amount: Decimal, currency: str) -> None:
        """Refuse (DomainError) an amount this gateway cannot charge, before anything is
        reserved or sent."""
        return None

    @abstractmethod
    def tokenize(self, card: CardInput, *, today_year: int, today_month: int) -> TokenizedCard:
        """Exchange a card for a token; raise CardRejected when it cannot be used."""

    @abstractmethod
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
        """Charge the card behind `token`. `reference` is the caller's idempotency key.
        Off-session charges cannot ask the payer for an extra step: they fail instead.
        On-session, a payer sent to the gateway's page to authenticate comes back to
        `return_url`."""

    def verify(self, *, token: str) -> str:
        """Ask the card's issuer whether the card behind `token` may be kept for later
        charges (a check that moves no money): the failure reason (`card_declined`), or
        "" when it may. A gateway whose own page sets cards up (Stripe Checkout) checks
        them there, and has nothing to add."""
        return ""

    @abstractmethod
    def complete_action(self, *, reference: str, approved: bool) -> ChargeResult:
        """Settle a charge that required the payer's extra step, as the payer answered."""

    @abstractmethod
    def refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str = ""
    ) -> RefundResult:
        """Refund part or all of a settled charge; a repeated `idempotency_key` refunds once."""

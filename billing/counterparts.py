"""The other party of a fiscal document (a sale's customer, a purchase's supplier) as the
document shows it: the one way renderers (the DTE, the timbre, the filed document, the
PDF) read it.

A finalized document shows the counterpart frozen onto it at finalize
(`FiscalDocument.mark_finalized`), so editing the customer afterwards changes no filed XML
and no PDF; a draft shows the live record.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import QuerySet

from billing.models import Comuna, Country, FiscalDocument, State
from billing.models.documents import counterpart_record


@dataclass(frozen=True)
class Counterpart:
    name: str
    tax_id: str
    country_id: str
    state_id: str | None
    comuna_id: str | None
    address: str
    email: str
    activity: str  # Chile's giro

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Counterpart":
        return cls(
            name=record.get("name") or "",
            tax_id=record.get("tax_id") or "",
            country_id=record["country"],
            state_id=record.get("state"),
            comuna_id=record.get("comuna"),
            address=record.get("address") or "",
            email=record.get("email") or "",
            activity=record.get("activity") or "",
        )

    # Reference data, by key: the same rows whichever record the counterpart was read from.
    @cached_property
    def country(self) -> Country:
        return Country.objects.get(pk=self.country_id)

    @cached_property
    def state(self) -> State | None:
        return State.objects.filter(pk=self.state_id).first() if self.state_id else None

    @cached_property
    def comuna(self) -> Comuna | None:
        return Comuna.objects.filter(pk=self.comuna_id).first() if self.comuna_id else None


def document_counterpart(document: FiscalDocument) -> Counterpart:
    """The counterpart `document` shows: frozen at finalize, live on a draft."""
    if document.counterpart_snapshot:
        return Counterpart.from_record(document.counterpart_snapshot)
    return party_counterpart(getattr(document, document.counterpart_field))


def order_counterpart(order: Any) -> Counterpart:
    """An order's customer, as it is now: an order is no fiscal document, nothing is filed."""
    return party_counterpart(order.customer)


def party_counterpart(party: Any) -> Counterpart:
    """A customer's or supplier's record as it is now (a draft's, or an order's)."""
    counterpart = Counterpart.from_record(counterpart_record(party))
    # Reference rows the caller loaded with the party are not read again.
    for name in ("country", "state", "comuna"):
        if name in party._state.fields_cache:
            counterpart.__dict__[name] = party._state.fields_cache[name]
    return counterpart


def counterparts_freeze_finalized(documents: QuerySet, *, counterpart_field: str) -> None:
    """Freeze the counterpart of finalized `documents` that were finalized before documents
    kept one (a data migration's: historical models know no `counterpart_field`)."""
    pending = (
        documents.exclude(status="draft")
        .filter(counterpart_snapshot={})
        .select_related(counterpart_field)
        .order_by("pk")
    )
    batch = []
    for document in pending.iterator(chunk_size=1000):
        document.counterpart_snapshot = counterpart_record(getattr(document, counterpart_field))
        batch.append(document)
        if len(batch) == 1000:
            documents.model.objects.bulk_update(batch, ["counterpart_snapshot"])
            batch = []
    documents.model.objects.bulk_update(batch, ["counterpart_snapshot"])

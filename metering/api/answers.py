"""The answer to an ingestion: its counts, the unknown customers, and an object per event.

A bulk answers a thousand events. Building a dict for each and rendering it cost more
than writing each event's JSON from ready-made pieces: the head that carries its index,
its event_id (the one free text of an accepted event), and the tail that follows, of
which there are eight. An answer kept under an Idempotency-Key is stored as JSON data,
so it keeps the dicts; both render to the same bytes."""

from typing import Any

import orjson

from billing.encoders import json_bytes
from metering.choices import EVENTS_PER_BULK
from metering.services.events import OUTCOMES, IngestReport


def _head(position: int) -> bytes:
    return b'{"index":%d,"event_id":' % position


def _tail(status: str, reason: str, customer_found: bool, late: bool) -> bytes:
    fields = {"status": status, "reason": reason, "customer_found": customer_found, "late": late}
    return b"," + json_bytes(fields)[1:]


_HEADS = [_head(position) for position in range(EVENTS_PER_BULK)]
# The tail of every outcome of an event that was not rejected.
_TAILS = {outcome: _tail(*outcome) for outcome in OUTCOMES.values()}


def ingest_answer(report: IngestReport, *, kept: bool) -> dict[str, Any]:
    """The answer's data; `kept`: it is stored under an Idempotency-Key."""
    return {
        "accepted": report.accepted,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "late": report.late,
        "unknown_customers": report.unknown_customers,
        "results": _results(report) if kept else _results_json(report),
    }


def _results(report: IngestReport) -> list[dict[str, Any]]:
    return [
        {
            "index": index, "event_id": event_id, "status": status, "reason": reason,
            "customer_found": customer_found, "late": late,
        }
        for index, (event_id, (status, reason, customer_found, late))
        in enumerate(zip(report.event_ids, report.outcomes, strict=True))
    ]  # fmt: skip


def _results_json(report: IngestReport) -> orjson.Fragment:
    heads, tails, dumps = _HEADS, _TAILS, orjson.dumps
    items = []
    for position, (event_id, outcome) in enumerate(
        zip(report.event_ids, report.outcomes, strict=True)
    ):
        head = heads[position] if position < EVENTS_PER_BULK else _head(position)
        # A rejected event's tail carries its reason: written for it.
        tail = tails.get(outcome) or _tail(*outcome)
        items.append(head + dumps(event_id) + tail)
    if not items:
        return orjson.Fragment(b"[]")
    # The brackets join the first and last items: the whole array is copied once.
    items[0] = b"[" + items[0]
    items[-1] += b"]"
    return orjson.Fragment(b",".join(items))

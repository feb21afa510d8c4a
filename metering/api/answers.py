"""The answer to an ingestion: its counts, the unknown customers, and an object per event.

A bulk answers a thousand events. Building a dict for each and rendering it cost more
than writing each event's JSON from ready-made pieces: the head that carries its index,
its event_id (the one free text of an accepted event), and the tail that follows, of
which there are eight. An answer kept under an Idempotency-Key is stored as JSON data,
so it keeps the dicts; both render to the same bytes."""

from operator import add
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


# Each event's head with what comes before it in the array: the bracket or a comma.
_OPENINGS = [b"[" + _head(0)] + [b"," + _head(position) for position in range(1, EVENTS_PER_BULK)]
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
    count = len(report.event_ids)
    if not count:
        return orjson.Fragment(b"[]")
    openings = _OPENINGS if count <= len(_OPENINGS) else _OPENINGS + [
        b"," + _head(position) for position in range(len(_OPENINGS), count)
    ]  # fmt: skip
    tails = _TAILS
    # A rejected event's tail carries its reason: written for it.
    ends = (
        [tails.get(outcome) or _tail(*outcome) for outcome in report.outcomes]
        if report.rejected
        else map(tails.__getitem__, report.outcomes)
    )
    # Each event's JSON made by concatenation, in loops in C. Its id's bytes are dropped as
    # soon as they are copied: a thousand of orjson's outputs held until one join took
    # fifteen times as long to make as the same dropped at once.
    ids = map(orjson.dumps, report.event_ids)
    # `openings` may be longer than the batch: map ends with its events.
    items = map(add, map(add, openings, ids), ends)
    return orjson.Fragment(b"".join([*items, b"]"]))

"""How the API reads a datetime it is sent: one rule for every body field, list filter
and usage event (spec: Dates and time; README, Authentication).

A datetime with its UTC offset is that moment. One without an offset is a time in the
workspace's timezone, and a bare date that day's midnight there: Piriod's clients send
both (a `created__gte=2026-01-01` bound, a date and time as the user typed it), and its
own server reads them in the account's local time. Refusing them would break those
clients; reading them in UTC would move them by hours."""

from datetime import UTC, datetime, tzinfo

from django.utils.dateparse import parse_datetime

INSTANT_FORMAT = "ISO 8601, e.g. 2026-03-01T10:00:00Z; without an offset, the workspace's time"


def instant_parse(text: str, zone: tzinfo) -> datetime:
    """The moment `text` names, in UTC; ValueError when it names none.

    A local time a DST change skips is read with the offset before the change, which
    names the first moment after the gap: Chile moves its clocks at midnight, and a bare
    date of that day still means the day's start."""
    try:
        value = parse_datetime(text)
    except ValueError:  # the shape of one, but no such day, hour or offset
        value = None
    if value is None:
        raise ValueError(f"Not a date and time: {INSTANT_FORMAT}.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Enter a date and time between years 1 and 9999.") from None

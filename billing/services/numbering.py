"""Gapless document numbers, taken only inside the transaction that finalizes."""

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.db.models import Field, Model

from billing.clock import workspace_today
from billing.db import column_value
from billing.models import DocumentType, Event, FolioRange, NumberSequence, Workspace
from billing.services.events import event_insert_statement, event_recorded
from billing.services.folios import folios_take


def _locked_sequence(
    workspace: Workspace, test_mode: bool, document_type: DocumentType
) -> NumberSequence:
    scope = {"workspace": workspace, "test_mode": test_mode, "document_type": document_type}
    sequence = NumberSequence.objects.select_for_update().filter(**scope).first()
    if sequence is not None:
        return sequence
    try:
        with transaction.atomic():
            NumberSequence.objects.create(**scope)
    except IntegrityError:
        pass  # created concurrently; lock that one
    return NumberSequence.objects.select_for_update().get(**scope)


def _increment_statement(
    workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int
) -> tuple[str, list[Any]]:
    connection = transaction.get_connection()
    sequences = connection.ops.quote_name(NumberSequence._meta.db_table)
    folios = connection.ops.quote_name(FolioRange._meta.db_table)
    sql = (
        f"UPDATE {sequences} SET last_number = last_number + %s "
        "WHERE workspace_id = %s AND test_mode = %s AND document_type_id = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {folios} WHERE workspace_id = %s "
        "AND test_mode = %s AND document_type_id = %s) RETURNING last_number"
    )
    return sql, [count, *([workspace.pk, test_mode, document_type.pk] * 2)]


def _increment_without_folios(
    workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int
) -> int | None:
    """Take `count` numbers in one statement, which is also where the counter's row lock
    starts: the caller takes them as late as it can, so the lock lasts until its commit
    only. None when the counter is missing or the type numbers inside loaded CAF ranges
    (the general path below)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(*_increment_statement(workspace, test_mode, document_type, count))
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def number_take_saving(
    *,
    document: Any,
    document_type: DocumentType,
    event_type: str,
    event_data: Callable[[], dict[str, Any]],
    now: datetime,
) -> bool:
    """Take `document`'s next number, save the document (every column, as `save()`
    does) with it and record its `event_type` event with the number as its data's
    `number`. On PostgreSQL the three are one statement: the counter's row lock starts
    with the transaction's last statement, so it is held only until the commit that
    follows, and the writes cost one round trip. `event_data` is called once the
    document's columns are prepared, so it sees the values they are saved with
    (`auto_now`).

    Whether the event was recorded. It is not when a concurrent writer took its
    sequence, or when the number came from the general path (the counter was missing,
    the type numbers inside CAF ranges, another database): the document is saved with
    its number then, and the caller records the event (`event_record` retries)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("numbers are taken inside the finalizing transaction")
    workspace, test_mode = document.workspace, document.test_mode
    if connection.vendor != "postgresql":
        document.number = number_take(
            workspace=workspace, test_mode=test_mode, document_type=document_type, now=now
        )
        document.save()
        return False
    increment, increment_params = _increment_statement(workspace, test_mode, document_type, 1)
    taken_number = "(SELECT last_number FROM taken)"
    update, update_params = _update_statement(document, number_sql=taken_number)
    event = Event(workspace=workspace, test_mode=test_mode, object_id=document.pk,
                  type=event_type, data=event_data())  # fmt: skip
    insert, insert_params = event_insert_statement(
        event,
        data_key=("number", "(SELECT number FROM saved)"),
        only_if="EXISTS (SELECT 1 FROM saved)",
    )
    sql = (
        f"WITH taken AS ({increment}), "
        f"saved AS ({update} AND EXISTS (SELECT 1 FROM taken) RETURNING number), "
        f"recorded AS ({insert}) "
        "SELECT (SELECT number FROM saved), (SELECT sequence FROM recorded)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*increment_params, *update_params, *insert_params])
        number, sequence = cursor.fetchone()
    if number is None:  # nothing written
        document.number = _take_locked(workspace, test_mode, document_type, 1, now)[0]
        document.save()
        return False
    document.number = event.data["number"] = number
    if sequence is None:
        return False
    event_recorded(event, sequence)
    return True


def _update_statement(document: Model, *, number_sql: str) -> tuple[str, list[Any]]:
    """UPDATE of every column of `document` as `save()` writes them (`auto_now` set),
    its `number` from `number_sql`; ends with its WHERE, for the caller to extend."""
    connection = transaction.get_connection()
    sql, fields = _update_sql(type(document), number_sql, connection.vendor)
    values = [
        column_value(field, field.pre_save(document, add=False), connection) for field in fields
    ]
    return sql, [*values, document.pk]


@cache
def _update_sql(model: type[Model], number_sql: str, vendor: str) -> tuple[str, list[Field]]:
    # The same for every document of a model: made once, as its text is long.
    quote = transaction.get_connection().ops.quote_name
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.attname != "number"]
    number_column = cast(Field, meta.get_field("number")).column
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments}, "
        f"{quote(number_column)} = {number_sql} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    return sql, fields


def number_take_range(
    *,
    workspace: Workspace,
    test_mode: bool,
    document_type: DocumentType,
    count: int,
    now: datetime,
) -> list[int]:
    """Reserve the next `count` numbers; they are given back if the caller rolls back.
    Consecutive, except where they run from the end of one CAF range into the next."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers are taken inside the finalizing transaction")
    last = _increment_without_folios(workspace, test_mode, document_type, count)
    if last is not None:
        return list(range(last - count + 1, last + 1))
    return _take_locked(workspace, test_mode, document_type, count, now)


def _take_locked(
    workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int, now: datetime
) -> list[int]:
    """The general path: the counter locked (created when missing) by a read of its own,
    and the numbers inside the loaded CAF ranges when the type has any."""
    sequence = _locked_sequence(workspace, test_mode, document_type)
    # Inside the loaded CAF ranges, when the type has any (billing.services.folios).
    numbers = folios_take(
        workspace=workspace,
        test_mode=test_mode,
        document_type=document_type,
        after=sequence.last_number,
        count=count,
        # A CAF expires by the workspace's date (its test clock's in test mode).
        today=workspace_today(workspace, now),
    )
    sequence.last_number = numbers[-1]
    sequence.save(update_fields=["last_number"])
    return numbers


def number_skip_past(
    *, workspace: Workspace, test_mode: bool, document_type: DocumentType, number: int
) -> None:
    """A number of this sequence given elsewhere (an imported document): the sequence moves
    past it, so it never hands it out again and what follows it stays free."""
    sequence = _locked_sequence(workspace, test_mode, document_type)
    if number > sequence.last_number:
        sequence.last_number = number
        sequence.save(update_fields=["last_number"])


def number_give_back(
    *,
    workspace: Workspace,
    test_mode: bool,
    document_type: DocumentType,
    number: int,
    highest_kept: int,
) -> None:
    """A number skipped past (number_skip_past) and withdrawn before anything was numbered
    after it: the sequence goes back to `highest_kept`, the highest of its numbers still
    recorded, so the withdrawn skip leaves no gap."""
    sequence = _locked_sequence(workspace, test_mode, document_type)
    if sequence.last_number == number and highest_kept < number:
        sequence.last_number = highest_kept
        sequence.save(update_fields=["last_number"])


def number_take(
    *, workspace: Workspace, test_mode: bool, document_type: DocumentType, now: datetime
) -> int:
    return number_take_range(
        workspace=workspace, test_mode=test_mode, document_type=document_type, count=1, now=now
    )[0]

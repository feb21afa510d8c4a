"""Gapless document numbers, taken only inside the transaction that finalizes."""

from django.db import IntegrityError, transaction

from billing.models import DocumentType, FolioRange, NumberSequence, Workspace
from billing.services.folios import folios_first


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


def _increment_without_folios(
    workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int
) -> int | None:
    """Take `count` numbers in one statement, which is also where the counter's row lock
    starts: the caller takes them as late as it can, so the lock lasts until its commit
    only. None when the counter is missing or the type numbers inside loaded CAF ranges
    (the general path below)."""
    connection = transaction.get_connection()
    sequences = connection.ops.quote_name(NumberSequence._meta.db_table)
    folios = connection.ops.quote_name(FolioRange._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {sequences} SET last_number = last_number + %s "
            "WHERE workspace_id = %s AND test_mode = %s AND document_type_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {folios} WHERE workspace_id = %s "
            "AND test_mode = %s AND document_type_id = %s) RETURNING last_number",
            [count, *([workspace.pk, test_mode, document_type.pk] * 2)],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def number_take_range(
    *, workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int
) -> range:
    """Reserve `count` consecutive numbers; they are given back if the caller rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers are taken inside the finalizing transaction")
    last = _increment_without_folios(workspace, test_mode, document_type, count)
    if last is not None:
        return range(last - count + 1, last + 1)
    sequence = _locked_sequence(workspace, test_mode, document_type)
    # Inside the loaded CAF ranges, when the type has any (billing.services.folios).
    first = folios_first(
        workspace=workspace,
        test_mode=test_mode,
        document_type=document_type,
        after=sequence.last_number,
        count=count,
    )
    sequence.last_number = first + count - 1
    sequence.save(update_fields=["last_number"])
    return range(first, first + count)


def number_take(*, workspace: Workspace, test_mode: bool, document_type: DocumentType) -> int:
    return number_take_range(
        workspace=workspace, test_mode=test_mode, document_type=document_type, count=1
    )[0]

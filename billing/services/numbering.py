"""Gapless document numbers, taken only inside the transaction that finalizes."""

from django.db import IntegrityError, transaction

from billing.models import DocumentType, NumberSequence, Workspace
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


def number_take_range(
    *, workspace: Workspace, test_mode: bool, document_type: DocumentType, count: int
) -> range:
    """Reserve `count` consecutive numbers; they are given back if the caller rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers are taken inside the finalizing transaction")
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

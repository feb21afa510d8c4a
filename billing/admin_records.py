"""Back-office rules for records that are kept as they were written."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest


class NoDeleteAdminMixin:
    """An append-only record (the event log, webhook deliveries, reminder messages, bulks):
    never deleted here. Without the permission Django also drops the delete action."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeleteUnlessAdminMixin:
    """Deleted only while `delete_refused(obj)` gives no reason: the delete page and the
    bulk action list the refused objects as protected, so nothing is deleted then."""

    def delete_refused(self, obj: Any) -> str | None:
        """Why `obj` must stay; None when it may be deleted."""
        raise NotImplementedError

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.delete_refused(obj):
            return False
        return super().has_delete_permission(request, obj)  # type: ignore[misc]

    def get_deleted_objects(
        self, objs: Sequence[Any] | QuerySet[Any], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        refused = [f"{obj}: {reason}" for obj in objs if (reason := self.delete_refused(obj))]
        return deleted, counts, perms_needed, [*protected, *refused]

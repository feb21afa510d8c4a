"""What a bulk looks like to the outside: its status, counts and per-item results."""

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.representations import JSONValueField, TenantModelSerializer
from bulks.choices import MAX_BULK_ITEMS, BulkItemStatus, BulkStatus
from bulks.models import Bulk, BulkItem

NOT_AN_OBJECT = "Each item is a JSON object."


@extend_schema_field(OpenApiTypes.OBJECT)
class BulkItemBodyField(JSONValueField):
    """One item's body. Anything but a JSON object, null included, is refused here, so
    every such item of a bulk is named in one answer, beside the bulk's other errors."""

    default_error_messages = {"null": NOT_AN_OBJECT, "not_an_object": NOT_AN_OBJECT}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_an_object")
        return super().to_internal_value(data)


class BulkItemSerializer(serializers.ModelSerializer):
    object = serializers.CharField(
        source="object_id", read_only=True, allow_null=True,
        help_text="The created invoice's or retention's id, once it succeeded.",
    )  # fmt: skip

    class Meta:
        model = BulkItem
        # `errors`: what the resource's own POST would have answered for the item.
        fields = ["position", "status", "object", "errors", "processed_at"]
        read_only_fields = fields


class BulkSerializer(TenantModelSerializer):
    items = serializers.ListField(
        child=BulkItemBodyField(),
        min_length=1,
        max_length=MAX_BULK_ITEMS,
        write_only=True,
        help_text=f"Up to {MAX_BULK_ITEMS} bodies, each as the resource's own POST takes it.",
    )
    counts = serializers.SerializerMethodField()
    results = BulkItemSerializer(source="items", many=True, read_only=True)

    class Meta:
        model = Bulk
        fields = [
            "id", "kind", "status", "items", "counts", "results", "completed_at",
            "metadata", "test_mode", "created", "updated",
        ]  # fmt: skip
        read_only_fields = ["kind", "status", "completed_at"]

    read_only_set_by: ClassVar[dict[str, str]] = {
        "kind": "A bulk's kind is its route's: /bulks/invoices/ or /bulks/retentions/.",
        "status": "A bulk's status follows the processing of its items.",
    }

    def read_only_shown(self, name: str) -> Any:
        if name == "kind" and self.instance is None:
            return getattr(self.context.get("view"), "kind", None)
        return super().read_only_shown(name)

    def read_only_accepts(self, name: str, sent: Any) -> bool:
        if name != "status":
            return super().read_only_accepts(name, sent)
        # The worker moves a bulk on between a read and a PUT of it: a status the bulk
        # has been through is what a retrieved copy showed, not a request to change it.
        reached = BulkStatus.values.index(self.read_only_shown("status"))
        return sent in BulkStatus.values[: reached + 1]

    def get_counts(self, bulk: Bulk) -> dict[str, int]:
        counts = {status: 0 for status in BulkItemStatus.values}
        for item in bulk.items.all():
            counts[item.status] += 1
        return {"total": sum(counts.values()), **counts}

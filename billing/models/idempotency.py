from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` per (workspace, mode): the request it answered and its response.

    The row is committed before the request runs (so a concurrent duplicate sees it and
    gets 409) and completed in the same transaction as the request's own writes (so a
    stored response always matches what was committed).
    """

    workspace = models.ForeignKey("billing.Workspace", on_delete=models.CASCADE, related_name="+")
    test_mode = models.BooleanField()
    # The caller's key (at most 255 characters) behind its scope's prefix (`payer:`).
    key = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    locked_at = models.DateTimeField(null=True)
    response_status = models.PositiveSmallIntegerField(null=True)
    # The response as its first answer wrote it: the body's text, not its data, since a
    # jsonb column would hand the keys back in its own order and a replay must be the same
    # bytes (a client may compare them or check a signature over them).
    response_body = models.TextField(blank=True, default="")
    # The headers the view set on it (Content-Type, Location), by name.
    response_headers = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "key"], name="idempotency_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.workspace_id})"

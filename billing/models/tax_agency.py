from django.db import models

from billing.encoders import JSONDecoder, JSONEncoder
from billing.ids import public_id_field


class SandboxSubmission(models.Model):
    """A document as the sandbox tax agency received it, and the verdict it will report.

    The sandbox decides at submit time but, like a real agency, answers only when polled:
    "processing" first, the verdict after. Kept in the database so submissions survive
    restarts and any worker can poll them.
    """

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    tracking_id = public_id_field("trk")
    # The issuer's id for the document: resubmitting an accepted key returns its tracking id.
    key = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    # The SII's upload state the verdict is reported with: EPR, RCT, RCH or RSC.
    upload_status = models.CharField(max_length=3)
    reasons = models.JSONField(encoder=JSONEncoder, decoder=JSONDecoder, default=list, blank=True)
    polls = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # When a poll first reported the verdict; later polls repeat the same answer.
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(verdict="accepted"),
                name="sandbox_submission_accepted_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_id} ({self.verdict})"

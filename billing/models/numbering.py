from django.db import models


class NumberSequence(models.Model):
    """The last number given to a (workspace, mode, document type).

    Incremented under a row lock inside the finalize transaction, so a rollback gives the
    number back: unlike a database sequence, it never leaves a gap.
    """

    workspace = models.ForeignKey("billing.Workspace", on_delete=models.CASCADE, related_name="+")
    test_mode = models.BooleanField()
    document_type = models.ForeignKey(
        "billing.DocumentType", on_delete=models.PROTECT, related_name="+"
    )
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "document_type"], name="number_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.document_type_id}: {self.last_number}"

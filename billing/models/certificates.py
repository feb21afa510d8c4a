from django.db import models

from billing.ids import public_id_field
from billing.models.base import TenantModel


class Certificate(TenantModel):
    """The digital certificate (firma electrónica) a workspace signs its DTEs with
    (XMLDSig), loaded from a PKCS#12 file, or made by the server for the sandbox agency.

    Its private key is kept encrypted like a CAF's (billing.services.folios); neither the
    key nor the file's password is ever returned.
    """

    id = public_id_field("crt")
    subject = models.CharField(max_length=256)
    serial_number = models.CharField(max_length=64)
    not_before_at = models.DateTimeField()
    not_after_at = models.DateTimeField()
    certificate = models.TextField()  # PEM
    private_key = models.TextField()  # Fernet token of the PEM key
    # Made by the server for the sandbox agency: the SII accepts none of these.
    is_sandbox = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        ordering = ["-not_after_at", "-id"]

    def __str__(self) -> str:
        return self.subject

"""The workspace's own organisation as its documents show it: branches (org units), the
bank accounts printed for transfers, and its connection to the tax agency."""

from django.db import models

from billing.ids import public_id_field
from billing.json_fields import ObjectJSONField
from billing.models import TenantModel
from organization.choices import BankAccountType, BillerBackend, BillerEnvironment, BillerStatus


class OrgUnit(TenantModel):
    """A branch (sucursal) with its own address and the SII's code for it; documents
    issued from it name it."""

    id = public_id_field("ou")
    name = models.CharField(max_length=128)
    address = models.CharField(max_length=256, blank=True)
    # The DTE issued from the branch gives this address as its origin (CmnaOrigen).
    comuna = models.ForeignKey(
        "billing.Comuna", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    city = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=64, blank=True)
    # The SII's branch code (código de sucursal, up to 9 digits); unique in a workspace.
    sii_branch_code = models.CharField(max_length=9, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = "org unit"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "sii_branch_code"],
                condition=~models.Q(sii_branch_code=""),
                name="orgunit_sii_branch_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class BankAccount(TenantModel):
    """A workspace bank account printed on its documents, for payment by transfer."""

    id = public_id_field("bnk")
    bank_name = models.CharField(max_length=128)
    account_type = models.CharField(
        max_length=16, choices=BankAccountType.choices, default=BankAccountType.CHECKING
    )
    account_number = models.CharField(max_length=34)
    holder_name = models.CharField(max_length=128, blank=True)
    holder_tax_id = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    on_documents = models.BooleanField(default=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "bank_name", "account_number"],
                name="bankaccount_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.account_number}"


class Biller(TenantModel):
    """The workspace's connection to its tax agency (Piriod's built-in biller): which
    backend files its documents, in which of the agency's environments, and whether
    filing is on. One per workspace and mode."""

    id = public_id_field("bil")
    backend = models.CharField(
        max_length=16, choices=BillerBackend.choices, default=BillerBackend.SANDBOX
    )
    environment = models.CharField(
        max_length=16, choices=BillerEnvironment.choices, default=BillerEnvironment.CERTIFICATION
    )
    status = models.CharField(
        max_length=16, choices=BillerStatus.choices, default=BillerStatus.ACTIVE
    )
    settings = ObjectJSONField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["workspace", "test_mode"], name="biller_one_per_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.backend} {self.environment} ({self.status})"

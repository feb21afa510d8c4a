from django.db import models

from billing.ids import public_id_field
from billing.json_fields import ObjectJSONField
from billing.models import TenantModel
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from customers.choices import BalanceTransactionKind, CustomerStatus, StripeSyncStatus

# What our customer ids start with. A reference never does (customers.services): events
# name a customer by either, so a key is an id or a reference, never both.
CUSTOMER_ID_PREFIX = "cus_"


class Customer(TenantModel):
    id = public_id_field(CUSTOMER_ID_PREFIX.rstrip("_"))
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=64, blank=True)
    country = models.ForeignKey("billing.Country", on_delete=models.PROTECT, related_name="+")
    state = models.ForeignKey(
        "billing.State", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # A Chilean receiver's comuna (the SII's CmnaRecep); see customers.services.
    comuna = models.ForeignKey(
        "billing.Comuna", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(max_length=200, blank=True)
    zip_code = models.CharField(max_length=16, blank=True)
    manager = models.CharField(max_length=100, blank=True)
    # The caller's own id for this customer.
    # NULL, not "", for "no reference": the unique constraint must ignore customers without one.
    reference = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    tax_id = models.CharField(max_length=32, blank=True)
    tax_settings = ObjectJSONField()
    send_invoices = models.BooleanField(default=True)
    send_collections = models.BooleanField(default=True)
    send_vouchers = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    # The customer's copy in Stripe, kept by the payments app when Stripe is connected.
    stripe_id = models.CharField(max_length=255, blank=True)
    stripe_sync_status = models.CharField(
        max_length=16, choices=StripeSyncStatus.choices, default=StripeSyncStatus.NOT_SYNCED
    )
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    stripe_sync_error = models.CharField(max_length=256, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "reference"],
                condition=models.Q(reference__isnull=False),
                name="customer_reference_unique",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "test_mode", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class FormerReference(models.Model):
    """A reference a customer had before it changed. Usage events name a customer by its
    reference and are stored with the key they were sent with, so the customer keeps
    every key it had: its usage under this one keeps counting for it, and no other
    customer may take it (its events would become that customer's)."""

    workspace = models.ForeignKey("billing.Workspace", on_delete=models.PROTECT, related_name="+")
    test_mode = models.BooleanField(default=False)
    # Null once the customer is deleted: its events still name it by the reference, so
    # the reference stays taken (a new customer would take over the deleted one's usage).
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="former_references",
    )
    reference = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "test_mode", "reference"],
                name="customer_former_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} (formerly {self.customer_id})"


class Contact(TenantModel):
    id = public_id_field("con")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    # The branch this contact deals with (Piriod's contact `orgunit`); a branch that
    # contacts name cannot be deleted.
    orgunit = models.ForeignKey(
        "organization.OrgUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # Receives invoices / collection reminders.
    invoicing = models.BooleanField(default=False)
    collections = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class CustomerBalanceTransaction(TenantModel):
    """One movement of the customer's balance with us (Stripe's "customer balance"): a
    positive `amount` is credit the customer holds, a negative one credit used or paid
    back. It belongs to the invoice it came from, so that invoice's amount due counts it;
    a payment's excess beyond what its invoices owed belongs to none (`invoice_id` "").

    `invoice_id` and `source_id` (the credit note, refund or payment) are plain ids, as
    Invoice.subscription_id is: customers sit below invoices and payments.
    """

    id = public_id_field("cbt")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="balance_transactions"
    )
    currency = models.ForeignKey("billing.Currency", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMAL_PLACES)
    kind = models.CharField(max_length=16, choices=BalanceTransactionKind.choices)
    invoice_id = models.CharField(max_length=40, db_index=True)
    source_id = models.CharField(max_length=40)
    description = models.CharField(max_length=256, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="balance_transaction_amount_not_zero"
            ),
            # A credit note, or a refund on one of its invoices, moves the balance once.
            models.UniqueConstraint(
                fields=["kind", "source_id", "invoice_id"],
                name="balance_transaction_once_per_source",
            ),
        ]
        indexes = [models.Index(fields=["customer", "currency", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} ({self.id}, {self.kind})"

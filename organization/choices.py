from django.db import models


class BankAccountType(models.TextChoices):
    CHECKING = "checking"  # cuenta corriente
    SAVINGS = "savings"  # cuenta de ahorro
    SIGHT = "sight"  # cuenta vista / RUT


class BillerBackend(models.TextChoices):
    # The agency backends the server ships (billing/tax_agency); one today.
    SANDBOX = "sandbox"


class BillerEnvironment(models.TextChoices):
    CERTIFICATION = "certification"  # the agency's test environment
    PRODUCTION = "production"


class BillerStatus(models.TextChoices):
    ACTIVE = "active"
    DISABLED = "disabled"

from django.db import models


class CustomerStatus(models.TextChoices):
    ACTIVE = "active"
    ARCHIVED = "archived"
    PENDING = "pending"


# (from, to) pairs a customer may move along.
CUSTOMER_TRANSITIONS = {
    (CustomerStatus.ACTIVE, CustomerStatus.ARCHIVED),
    (CustomerStatus.PENDING, CustomerStatus.ARCHIVED),
    (CustomerStatus.ARCHIVED, CustomerStatus.ACTIVE),
}

CONTACTS_PER_CUSTOMER = 7

from django.db import models

# What a template may say: {name} placeholders filled from the invoice being reminded.
PLACEHOLDERS = (
    "customer_name", "issuer", "document", "number", "date", "due_date", "days", "total",
    "amount_due", "currency",
)  # fmt: skip

# A rule reminds from this many days before the due date to this many after.
MIN_DAYS, MAX_DAYS = -60, 365


class Language(models.TextChoices):
    ES = "es"
    EN = "en"


class MessageStatus(models.TextChoices):
    SENDING = "sending"  # claimed by the sender; an email is on its way
    SENT = "sent"
    # The mail server refused it, or its template did not render (the error says which);
    # not retried, so never sent twice.
    FAILED = "failed"
    # No one to send it to: the customer opted out of collection emails, or has no email
    # and no collections contact with one (the error says which). Recorded so the reminder
    # stops being pending; not sent later if an email is added, as a missed day is not.
    SKIPPED = "skipped"

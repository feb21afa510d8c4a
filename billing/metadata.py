"""Metadata: the caller's own flat object of text, with Stripe's limits.

The API's serializers and every model's own validation (the admin's forms) hold it to
the same shape, so what one writes the other can read back.
"""

from decimal import Decimal
from typing import Any

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500


def metadata_errors(value: Any) -> list[str]:
    """Why `value` is not metadata as the API reads it back (empty when it is)."""
    if not isinstance(value, dict):
        return ['Metadata is an object of text values, e.g. {"erp_id": "A-17"}.']
    if len(value) > METADATA_MAX_KEYS:
        return [f"At most {METADATA_MAX_KEYS} keys."]
    errors = []
    if any(not key or len(key) > METADATA_KEY_MAX_LENGTH for key in value):
        errors.append(f"Keys are 1 to {METADATA_KEY_MAX_LENGTH} characters.")
    # A number is read back as its text, as the API stores one it is sent.
    if any(
        isinstance(item, bool)
        or not isinstance(item, str | int | float | Decimal)
        or len(str(item)) > METADATA_VALUE_MAX_LENGTH
        for item in value.values()
    ):
        errors.append(
            f"Values are text or numbers of at most {METADATA_VALUE_MAX_LENGTH} characters."
        )
    return errors

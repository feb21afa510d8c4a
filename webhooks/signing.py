"""Both signature schemes a receiver may check.

- `x-piriod-signature`: hex HMAC-SHA256 of event type + object id, keyed by the secret,
  as Piriod signs its webhooks.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) over the
  raw body, signed with the `standardwebhooks` library; during a rotation the header
  carries one signature per valid secret.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def piriod_signature(*, secret: str, event_type: str, object_id: str) -> str:
    message = f"{event_type}{object_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def delivery_headers(
    *,
    secrets_in_use: list[str],
    message_id: str,
    sent_at: datetime,
    body: str,
    event_type: str,
    object_id: str,
) -> dict[str, str]:
    sent_at = sent_at.astimezone(UTC)
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=sent_at, data=body)
        for secret in secrets_in_use
    ]
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "x-piriod-signature": piriod_signature(
            secret=secrets_in_use[0], event_type=event_type, object_id=object_id
        ),
    }

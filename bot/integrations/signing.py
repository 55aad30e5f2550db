"""Signing outbound webhooks the Standard Webhooks way (standardwebhooks.com).

Headers `webhook-id` (the message id, the same on every retry, so receivers can
drop duplicates), `webhook-timestamp` (Unix seconds at sending; receivers reject
old ones, which stops replays) and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`{id}.{timestamp}.{body}` keyed with the secret's base64-decoded bytes. The HMAC is
computed by the reference `standardwebhooks` library.
"""

from __future__ import annotations

from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The headers of one delivery attempt of `body` (the exact bytes that are sent)."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }

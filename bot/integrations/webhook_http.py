"""Sending one signed webhook over HTTP (httpx): used by the outbox sender and `leadbot webhooks test`."""

from __future__ import annotations

from datetime import datetime

import httpx

from bot.integrations.signing import signed_headers

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Leadbot-Webhooks/1"


def build_webhook_http_client() -> httpx.AsyncClient:
    # No redirects: a signed delivery goes to the configured URL or nowhere.
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False,
                             headers={"user-agent": USER_AGENT})


async def post_signed(client: httpx.AsyncClient, *, url: str, secret: str, message_id: str,
                      body: str, at: datetime) -> httpx.Response:
    """One signed POST (also what `leadbot webhooks test` sends)."""
    headers = signed_headers(secret=secret, message_id=message_id, body=body, at=at)
    return await client.post(url, content=body.encode("utf-8"), headers=headers)


def retry_after_seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

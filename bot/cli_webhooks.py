"""`leadbot webhooks …`: make a signing secret, send a signed sample event to a receiver."""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
import uuid
from datetime import UTC, datetime

import click

from bot.integrations.fanout import LeadEventRow, webhook_body
from bot.integrations.lead_events import EVENT_TYPES
from bot.integrations.webhook_config import WebhookConfigError, check_secret, check_url, webhook_endpoints
from bot.integrations.webhook_http import build_webhook_http_client, post_signed
from bot.settings import Settings

SAMPLE_LEAD = {
    "id": 0, "channel": "telegram", "stage": "sql", "temperature": "hot", "score": 85, "fit": 45,
    "intent": 40, "explanation": ["sector Software & SaaS: +20", "budget 50 k€: +25"],
    "source": "sample", "language": "en",
    "contact": {"name": "Ada Lovelace", "first_name": "Ada", "last_name": None,
                "telegram_username": "ada", "company": "Analytical Engines",
                "email": "ada@example.com", "phone": None, "role": None},
    "answers": [{"question": "sector", "text": "we sell accounting software", "option": "software",
                 "option_label": "Software & SaaS", "value": None}],
    "owner": None, "disqualified_reason": None, "created_at": "2026-01-01T09:00:00+00:00",
    "qualified_at": "2026-01-01T09:04:00+00:00", "claimed_at": None,
}


def _fail(message: str) -> None:
    click.echo(f"leadbot: {message}", err=True)
    sys.exit(1)


@click.group()
def webhooks() -> None:
    """Outbound webhooks (Standard Webhooks signatures)."""


@webhooks.command("secret")
def webhooks_secret() -> None:
    """Print a new signing secret (whsec_ + base64 of 32 random bytes)."""
    click.echo("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())


@webhooks.command("test")
@click.argument("url")
@click.option("--secret", default=None,
              help="Signing secret (default: the configured endpoint's, or LEADBOT_WEBHOOK_SECRET).")
@click.option("--event", "event_type", type=click.Choice(EVENT_TYPES), default="lead.qualified",
              show_default=True, help="Which event to send.")
def webhooks_test(url: str, secret: str | None, event_type: str) -> None:
    """Send one signed sample event to URL and show the answer."""
    settings = Settings()
    try:
        url = check_url(url, "URL")
        if secret is None:
            configured = {e.url: e.secret for e in webhook_endpoints(settings)}
            fallback = settings.leadbot_webhook_secret.get_secret_value() if settings.leadbot_webhook_secret else None
            secret = configured.get(url) or fallback
        if secret is None:
            raise WebhookConfigError("no secret for this URL: pass --secret or set LEADBOT_WEBHOOK_SECRET")
        secret = check_secret(secret, "--secret")
    except WebhookConfigError as exc:
        _fail(str(exc))
        return
    now = datetime.now(UTC)
    event = LeadEventRow(id=uuid.uuid4().hex, type=event_type, lead_id=0, occurred_at=now.isoformat(),
                         data={"sample": True})
    body = webhook_body(event, SAMPLE_LEAD)

    async def send() -> tuple[int, str]:
        async with build_webhook_http_client() as client:
            response = await post_signed(client, url=url, secret=secret or "", message_id=f"msg_{event.id}",
                                         body=body, at=now)
            return response.status_code, response.text[:300]

    try:
        status, text = asyncio.run(send())
    except Exception as exc:  # httpx.HTTPError and friends: say what happened, no traceback
        _fail(f"could not reach {url}: {type(exc).__name__}: {exc}")
        return
    click.echo(f"{event_type} sent to {url} (webhook-id msg_{event.id}): HTTP {status}")
    if text:
        click.echo(text)
    if not 200 <= status < 300:
        _fail(f"the receiver answered HTTP {status}; a delivery counts only with 2xx")

"""Everything a lead's data may be sent to besides Slack, read from settings and checked at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.integrations.webhook_config import WebhookConfigError, WebhookEndpoint, webhook_endpoints
from bot.settings import Settings


def parse_owner_map(value: str | None) -> dict[str, str]:
    """`HUBSPOT_OWNERS`: "U024BE7LH=12345678,U0G9QF9C6=87654321" (Slack user → HubSpot owner id)."""
    owners: dict[str, str] = {}
    for pair in (value or "").split(","):
        if not pair.strip():
            continue
        slack_user, sep, owner = pair.partition("=")
        if not sep or not slack_user.strip() or not owner.strip().isdigit():
            raise ValueError(f"HUBSPOT_OWNERS: {pair.strip()!r} is not SLACK_USER_ID=HUBSPOT_OWNER_ID "
                             "(e.g. U024BE7LH=12345678)")
        owners[slack_user.strip()] = owner.strip()
    return owners


@dataclass(frozen=True, slots=True)
class HubSpotSettings:
    token: str
    base_url: str
    owners: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Integrations:
    webhooks: tuple[WebhookEndpoint, ...] = ()
    hubspot: HubSpotSettings | None = None


def load_integrations(settings: Settings) -> Integrations:
    """Raises WebhookConfigError (a ValueError) with one line naming the bad setting."""
    webhooks = webhook_endpoints(settings)
    hubspot = None
    try:
        owners = parse_owner_map(settings.hubspot_owners)
    except ValueError as exc:
        raise WebhookConfigError(str(exc)) from None
    if settings.hubspot_token is not None:
        token = settings.hubspot_token.get_secret_value().strip()
        if not token:
            raise WebhookConfigError("HUBSPOT_TOKEN is empty; paste the private app's access token")
        if urlsplit(settings.hubspot_api_base_url).scheme not in ("http", "https"):
            raise WebhookConfigError(f"HUBSPOT_API_BASE_URL: {settings.hubspot_api_base_url!r} is not an "
                                     "http(s) URL")
        hubspot = HubSpotSettings(token=token, base_url=settings.hubspot_api_base_url, owners=owners)
    elif owners:
        raise WebhookConfigError("HUBSPOT_OWNERS is set but HUBSPOT_TOKEN is not; set the token or "
                                 "remove the owner map")
    return Integrations(webhooks=webhooks, hubspot=hubspot)

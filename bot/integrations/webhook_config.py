"""Outbound webhook endpoints from the environment, checked at start: one line naming what is wrong.

One endpoint from `LEADBOT_WEBHOOK_URL` + `LEADBOT_WEBHOOK_SECRET` (every event), and/or
several from `LEADBOT_WEBHOOKS_FILE`, a YAML list of `{url, secret, events}`. Secrets
are Standard Webhooks secrets: `whsec_` followed by base64 of 24 to 64 random bytes
(`leadbot webhooks secret` makes one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.integrations.lead_events import EVENT_TYPES, LeadEventType
from bot.settings import Settings

SECRET_PREFIX = "whsec_"
_ENTRY_KEYS = frozenset({"url", "secret", "events"})


class WebhookConfigError(ValueError):
    """A webhook setting that cannot work; the message names it and says what to do."""


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    url: str
    secret: str  # whsec_…
    events: frozenset[LeadEventType]

    @property
    def key(self) -> str:
        """Names the endpoint's outbox destination: stable across restarts, changes with the URL."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def destination(self) -> str:
        return f"webhook:{self.key}"


def check_secret(secret: str, setting: str) -> str:
    secret = secret.strip()
    if not secret:
        raise WebhookConfigError(f"{setting}: the secret is empty; make one with `leadbot webhooks secret`")
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookConfigError(f"{setting}: a secret starts with {SECRET_PREFIX} followed by base64 "
                                 "(Standard Webhooks); make one with `leadbot webhooks secret`")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError(f"{setting}: the part after {SECRET_PREFIX} is not base64; "
                                 "make one with `leadbot webhooks secret`") from None
    if not 24 <= len(key) <= 64:
        raise WebhookConfigError(f"{setting}: the secret must hold 24 to 64 bytes (it holds {len(key)}); "
                                 "make one with `leadbot webhooks secret`")
    return secret


def check_url(url: str, setting: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookConfigError(f"{setting}: {url!r} is not an http(s) URL; write e.g. "
                                 "https://hooks.example.com/leadbot")
    return url


def check_events(events: Any, setting: str) -> frozenset[LeadEventType]:
    if events is None:
        return frozenset(EVENT_TYPES)
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise WebhookConfigError(f"{setting}: events must be a list of event names, e.g. [lead.qualified]")
    chosen: set[LeadEventType] = set()
    for name in events:
        match = next((known for known in EVENT_TYPES if known == name), None)
        if match is None:
            raise WebhookConfigError(f"{setting}: unknown event {name!r}; known events: "
                                     + ", ".join(EVENT_TYPES))
        chosen.add(match)
    return frozenset(chosen)


def _from_file(path: Path) -> list[WebhookEndpoint]:
    setting = f"LEADBOT_WEBHOOKS_FILE ({path})"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WebhookConfigError(f"{setting}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise WebhookConfigError(f"{setting}: not valid YAML{where}") from None
    if not isinstance(data, list):
        raise WebhookConfigError(f"{setting}: must be a YAML list of endpoints (- url: …, secret: …)")
    endpoints = []
    for number, entry in enumerate(data, start=1):
        where = f"{setting} entry {number}"
        if not isinstance(entry, dict):
            raise WebhookConfigError(f"{where}: must be a mapping with url, secret and events")
        unknown = sorted(set(map(str, entry)) - _ENTRY_KEYS)
        if unknown:
            raise WebhookConfigError(f"{where}: unknown key {unknown[0]!r}; use url, secret, events")
        if not entry.get("url"):
            raise WebhookConfigError(f"{where}: url is missing")
        if not entry.get("secret"):
            raise WebhookConfigError(f"{where}: secret is missing; make one with `leadbot webhooks secret`")
        endpoints.append(WebhookEndpoint(
            url=check_url(str(entry["url"]), f"{where}: url"),
            secret=check_secret(str(entry["secret"]), f"{where}: secret"),
            events=check_events(entry.get("events"), f"{where}: events"),
        ))
    return endpoints


def webhook_endpoints(settings: Settings) -> tuple[WebhookEndpoint, ...]:
    """Every configured endpoint; raises WebhookConfigError naming the first bad setting."""
    endpoints: list[WebhookEndpoint] = []
    secret = settings.leadbot_webhook_secret.get_secret_value() if settings.leadbot_webhook_secret else None
    if settings.leadbot_webhook_url:
        if not secret:
            raise WebhookConfigError("LEADBOT_WEBHOOK_SECRET is not set (LEADBOT_WEBHOOK_URL needs it); "
                                     "make one with `leadbot webhooks secret`")
        endpoints.append(WebhookEndpoint(
            url=check_url(settings.leadbot_webhook_url, "LEADBOT_WEBHOOK_URL"),
            secret=check_secret(secret, "LEADBOT_WEBHOOK_SECRET"), events=frozenset(EVENT_TYPES),
        ))
    elif secret:
        raise WebhookConfigError("LEADBOT_WEBHOOK_SECRET is set but LEADBOT_WEBHOOK_URL is not; "
                                 "set the URL or remove the secret")
    if settings.leadbot_webhooks_file is not None:
        endpoints.extend(_from_file(settings.leadbot_webhooks_file))
    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.url in seen:
            raise WebhookConfigError(f"duplicate webhook endpoint {endpoint.url!r} "
                                     "(LEADBOT_WEBHOOK_URL / LEADBOT_WEBHOOKS_FILE); list each URL once")
        seen.add(endpoint.url)
    return tuple(endpoints)

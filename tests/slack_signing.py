"""Build requests to our Slack endpoints signed exactly as Slack signs them (HMAC v0).

Slack sends `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex hmac-sha256 of
"v0:{timestamp}:{raw body}">`. Events are JSON; interactivity is a form with one
`payload` field holding JSON; slash commands are plain forms.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str]


def sign(
    body: str, *, secret: str = SIGNING_SECRET, content_type: str, timestamp: int | None = None,
    retry_num: int | None = None,
) -> SignedRequest:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return SignedRequest(body.encode(), headers)


def event_body(event: dict[str, Any], *, event_id: str = "Ev0001") -> str:
    return json.dumps({
        "token": "legacy", "team_id": "T0FAKE001", "api_app_id": "A0LEADBOT",
        "type": "event_callback", "event": event, "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0FAKE001", "user_id": "UBOT0001", "is_bot": True}],
    })


def signed_event(event: dict[str, Any], *, event_id: str = "Ev0001", **kw: Any) -> SignedRequest:
    return sign(event_body(event, event_id=event_id), content_type="application/json", **kw)


def block_actions_body(
    *, user_id: str, username: str, channel: str, message_ts: str, action: dict[str, Any],
    response_url: str,
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "name": username, "team_id": "T0FAKE001"},
        "api_app_id": "A0LEADBOT",
        "token": "legacy",
        "team": {"id": "T0FAKE001", "domain": "fake"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "sales"},
        "message": {"ts": message_ts, "type": "message"},
        "trigger_id": "111.222.xyz",
        "response_url": response_url,
        "actions": [{"action_ts": str(time.time()), **action}],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed_block_action(**kw: Any) -> SignedRequest:
    sign_kw = {k: kw.pop(k) for k in ("secret", "timestamp") if k in kw}
    return sign(
        block_actions_body(**kw), content_type="application/x-www-form-urlencoded", **sign_kw
    )


def signed_command(
    command: str, text: str, *, user_id: str, username: str, channel: str = "C0SALES01",
    response_url: str, **kw: Any,
) -> SignedRequest:
    body = urlencode({
        "token": "legacy", "team_id": "T0FAKE001", "team_domain": "fake", "channel_id": channel,
        "channel_name": "sales", "user_id": user_id, "user_name": username, "command": command,
        "text": text, "response_url": response_url, "trigger_id": "111.222.xyz",
        "api_app_id": "A0LEADBOT",
    })
    return sign(body, content_type="application/x-www-form-urlencoded", **kw)

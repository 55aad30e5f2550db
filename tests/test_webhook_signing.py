"""Webhook signatures and configuration: the Standard Webhooks test vector, the README's
verification snippet (run as published) against genuine, forged and stale requests, and bad
settings stopping `leadbot worker` at start with one line naming the setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
from standardwebhooks.webhooks import Webhook

from bot.integrations.signing import signed_headers
from tests.fakes.webhook_receiver import FakeWebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def readme_snippet() -> Callable[..., bool]:
    """The receiver's verification function exactly as the README publishes it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- webhook-verify-snippet -->\n```python\n(.*?)```", readme, re.S)
    assert match is not None, "the README lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)  # noqa: S102 — our own docs
    return namespace["verify_webhook"]  # type: ignore[no-any-return]


def test_signatures_match_the_standard_webhooks_test_vector() -> None:
    headers = signed_headers(secret=SECRET, message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
                             body='{"test": 2432232314}', at=datetime.fromtimestamp(1614265330, UTC))
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"


def test_the_readme_snippet_accepts_genuine_requests_and_rejects_forged_or_stale_ones() -> None:
    verify = readme_snippet()
    body = '{"type":"lead.qualified","data":{"lead_id":1}}'
    now = datetime.now(UTC)
    headers = signed_headers(secret=SECRET, message_id="msg_1", body=body, at=now)
    assert verify(SECRET, headers, body.encode())
    # the reference library agrees
    assert Webhook(SECRET).verify(body, headers) == {"type": "lead.qualified", "data": {"lead_id": 1}}

    assert not verify(OTHER_SECRET, headers, body.encode())  # signed with another secret
    assert not verify(SECRET, headers, body.replace("1}", "2}").encode())  # body tampered with
    assert not verify(SECRET, {**headers, "webhook-id": "msg_2"}, body.encode())  # id swapped
    forged = "v1," + headers["webhook-signature"][3:][::-1]
    assert not verify(SECRET, {**headers, "webhook-signature": forged}, body.encode())
    assert not verify(SECRET, {k: v for k, v in headers.items() if k != "webhook-signature"}, body.encode())
    stale = signed_headers(secret=SECRET, message_id="msg_1", body=body, at=now - timedelta(minutes=6))
    assert not verify(SECRET, stale, body.encode())  # a replay of an old request
    future = signed_headers(secret=SECRET, message_id="msg_1", body=body, at=now + timedelta(minutes=6))
    assert not verify(SECRET, future, body.encode())
    # several signatures (secret rotation): one valid v1 is enough
    rotated = {**headers, "webhook-signature": f"v1,bm90IGl0 {headers['webhook-signature']}"}
    assert verify(SECRET, rotated, body.encode())


def leadbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "TELEGRAM_", "LEADBOT_", "DATABASE_URL", "HUBSPOT_"))}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("entries", "env", "expected"), [
    ("- {url: 'https://a.example/h', secret: '%s', events: [lead.qualified, lead.won]}" % SECRET, {},
     "LEADBOT_WEBHOOKS_FILE ({file}) entry 1: events: unknown event 'lead.won'"),
    ("- {url: 'ftp://a.example/h', secret: '%s'}" % SECRET, {},
     "LEADBOT_WEBHOOKS_FILE ({file}) entry 1: url: 'ftp://a.example/h' is not an http(s) URL"),
    ("- {url: 'https://a.example/h', secret: '%s'}\n- {url: 'https://a.example/h', secret: '%s'}"
     % (SECRET, OTHER_SECRET), {}, "duplicate webhook endpoint 'https://a.example/h'"),
    (None, {"LEADBOT_WEBHOOK_URL": "https://a.example/h"}, "LEADBOT_WEBHOOK_SECRET is not set"),
    ("- {url: 'https://a.example/h'}", {}, "LEADBOT_WEBHOOKS_FILE ({file}) entry 1: secret is missing"),
    (None, {"LEADBOT_WEBHOOK_URL": "https://a.example/h", "LEADBOT_WEBHOOK_SECRET": "hunter2"},
     "LEADBOT_WEBHOOK_SECRET: a secret starts with whsec_"),
    (None, {"HUBSPOT_TOKEN": "pat-x", "HUBSPOT_OWNERS": "U024BE7LH:123"}, "HUBSPOT_OWNERS: 'U024BE7LH:123'"),
])
def test_bad_webhook_configuration_stops_the_worker_at_start_with_one_line(
    tmp_path: Path, entries: str | None, env: dict[str, str], expected: str,
) -> None:
    file = tmp_path / "webhooks.yaml"
    full_env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", **env}
    if entries is not None:
        file.write_text(entries + "\n", encoding="utf-8")
        full_env["LEADBOT_WEBHOOKS_FILE"] = str(file)
    result = leadbot("worker", env=full_env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leadbot: " + expected.format(file=file)), result.stderr
    assert not (tmp_path / "w.db").exists()  # stopped before touching anything


def test_webhooks_test_sends_a_signed_sample_the_receiver_verifies(tmp_path: Path) -> None:
    with FakeWebhookReceiver({"/hook": SECRET}) as receiver:
        result = leadbot("webhooks", "test", receiver.url("/hook"), "--event", "lead.claimed",
                         env={"LEADBOT_WEBHOOK_URL": receiver.url("/hook"), "LEADBOT_WEBHOOK_SECRET": SECRET})
        assert result.returncode == 0, result.stderr
        assert "HTTP 200" in result.stdout
        [event] = receiver.events("/hook")
        assert event["type"] == "lead.claimed" and event["data"]["lead"]["contact"]["name"] == "Ada Lovelace"
        wrong = leadbot("webhooks", "test", receiver.url("/hook"), "--secret", OTHER_SECRET, env={})
        assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
        assert receiver.state.rejected == ["no matching signature"]

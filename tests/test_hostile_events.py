"""Hostile requests at `POST /api/events`, on SQLite and PostgreSQL.

Authenticated (the caller has the API key) but malformed: out-of-range ids, NULs
and control characters, deep JSON, a reused idempotency key. Each gets a clean
4xx, writes nothing, logs no traceback; the API and the bot keep working.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from tests.db_proxy import CuttableProxy
from tests.hostile import (
    assert_prospect_answered,
    changed_tables,
    deep_json,
    log_problems,
    snapshot,
)

SECRET = "hostile-events-secret"
API_KEY = "hostile-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


@pytest.fixture
def container(database_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(database_url=database_url, telegram_bot_token=fake_telegram.token,
                           telegram_api_base_url=fake_telegram.base_url,
                           telegram_webhook_secret=SECRET, leadbot_api_key=API_KEY))
    yield built
    built.close()


def make_lead(container: Container) -> int:
    handled = None
    for number, line in enumerate(["/start", "software", "45"]):
        handled = container.service.handle_message(
            ConversationKey("telegram", "8100"), Inbound.parse_text(line, first_name="Bob"),
            message_id=f"seed-{number}", outbound=None,
            profile=Profile(first_name="Bob", username="bobm"))
    assert handled is not None and handled.lead_id is not None
    return handled.lead_id


def body(lead: Any, event: str = "content_download", key: Any = None) -> bytes:
    value: dict[str, Any] = {"lead": lead, "event": event}
    if key is not None:
        value["id"] = key
    return json.dumps(value).encode()


def refused_cases(lead_id: int) -> list[tuple[str, bytes, int]]:
    return [
        ("lead id 10^30", body({"id": 10**30}), 400),
        ("lead id 2^63", body({"id": 2**63}), 400),
        ("lead id zero", body({"id": 0}), 400),
        ("lead id negative", body({"id": -1}), 400),
        ("lead id a string", body({"id": str(lead_id)}), 400),
        ("lead id a float", body({"id": 1.5}), 400),
        ("lead id a boolean", body({"id": True}), 400),
        ("NUL in email", body({"email": "ada\x00@example.com"}), 400),
        ("NUL in username", body({"username": "bob\x00m"}), 400),
        ("NUL in key", body({"id": lead_id}, key="k\x00ey"), 400),
        ("newline in key", body({"id": lead_id}, key="key\nforged log line"), 400),
        ("lone surrogate in email", b'{"lead": {"email": "a\\ud800@b.c"}, "event": "email_open"}',
         400),
        ("NUL in event", body({"id": lead_id}, event="email\x00open"), 400),
        ("key too long", body({"id": lead_id}, key="k" * 101), 400),
        ("email too long", body({"email": "a" * 400 + "@b.c"}), 400),
        ("two ways to name the lead", body({"id": lead_id, "email": "a@b.c"}), 400),
        ("unknown field", json.dumps({"lead": {"id": lead_id}, "event": "email_open",
                                      "x": 1}).encode(), 400),
        ("5,000-deep JSON", deep_json(5_000), 400),
        ("100,000-deep JSON (over the size limit too)", deep_json(100_000), 413),
        ("not JSON", b"{nope", 400),
        ("not UTF-8", b'{"event": "\xff"}', 400),
        ("a JSON array", b"[]", 400),
        ("unknown event", body({"id": lead_id}, event="rm -rf"), 422),
        ("unknown lead", body({"id": 2**62}), 404),
        ("unknown email", body({"email": "nobody@example.com"}), 404),
        ("body over 16 KB", b" " * 20_000, 413),
    ]


async def test_hostile_events_are_refused_with_4xx_and_change_nothing(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    lead_id = make_lead(container)
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        before = snapshot(container)
        outcomes = []
        for name, content, status in refused_cases(lead_id):
            response = await client.post("/api/events", content=content, headers=AUTH)
            outcomes.append((name, response.status_code, status))
        assert [o for o in outcomes if o[1] != o[2]] == []
        assert changed_tables(before, snapshot(container)) == []
        assert log_problems(caplog) == []
        ok = await client.post("/api/events", content=body({"id": lead_id}, event="email_open"),
                               headers=AUTH)
        assert ok.status_code == 200, ok.text
        await assert_prospect_answered(client, fake_telegram, secret=SECRET, chat_id=8101,
                                       update_id=8101)
    assert "\nforged log line" not in caplog.text
    assert log_problems(caplog) == []


async def test_an_idempotency_key_reused_for_another_event_is_409(
    container: Container, serve_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    lead_id = make_lead(container)
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        first = await client.post("/api/events", headers=AUTH,
                                  content=body({"id": lead_id}, "webinar_registration", "evt-1"))
        assert first.status_code == 200 and first.json()["duplicate"] is False
        before = snapshot(container)
        reused = await client.post("/api/events", headers=AUTH,
                                   content=body({"id": lead_id}, "content_download", "evt-1"))
        assert reused.status_code == 409
        assert reused.json()["error"] == "idempotency_key_reused"
        assert reused.json()["first_event"] == "webinar_registration"
        assert changed_tables(before, snapshot(container)) == []
        retried = await client.post("/api/events", headers=AUTH,
                                    content=body({"username": "@BobM"}, "webinar_registration",
                                                 "evt-1"))
        assert retried.status_code == 200 and retried.json()["duplicate"] is True
        assert changed_tables(before, snapshot(container)) == []
    assert log_problems(caplog) == []


async def test_the_events_api_answers_503_only_while_the_database_is_down(
    postgres_url: str, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with CuttableProxy(postgres_url) as proxy:
        container = build(Settings(database_url=proxy.url, leadbot_api_key=API_KEY,
                                   telegram_bot_token=fake_telegram.token,
                                   telegram_api_base_url=fake_telegram.base_url,
                                   telegram_webhook_secret=SECRET))
        try:
            lead_id = make_lead(container)
            async with serve_app(container) as url, \
                    httpx.AsyncClient(base_url=url, timeout=30) as client:
                proxy.cut()
                down = [await client.post("/api/events", headers=AUTH,
                                          content=body({"id": lead_id}, "email_open"))
                        for _ in range(5)]
                proxy.restore()
                back = await client.post("/api/events", headers=AUTH,
                                         content=body({"id": lead_id}, "email_open"))
        finally:
            container.close()
    assert [r.status_code for r in down] == [503] * 5
    assert {r.json()["error"] for r in down} == {"database_unavailable"}
    assert back.status_code == 200, back.text
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage().split(":")[0] for r in errors] == ["events API failing"]
    assert errors[0].exc_info is None  # an unreachable database: its cause, not a traceback
    assert "Traceback" not in caplog.text
    assert any("events API recovered" in r.getMessage() for r in caplog.records)

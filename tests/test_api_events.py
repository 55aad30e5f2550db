"""The `POST /api/events` contract over real HTTP (uvicorn on 127.0.0.1): auth, lookups, refusals.

Every refusal is checked against the whole database: a 4xx leaves every row of every
table as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.api.events import MAX_BODY_BYTES, create_api_app
from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from storage.models import Base
from tests.conftest import ControlledClock

API_KEY = "test-key-7f3a"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
BOB = ["/start", "hospital", "45", "15k", "in 6 months", "Bob Martin", "Clinic",
       "Bob.Martin@Clinic.org", "skip"]  # 40 points: mql, warm


def chat(container: Container, chat_id: str, lines: list[str], *, username: str) -> int:
    key = ConversationKey("telegram", chat_id)
    for number, line in enumerate(lines):
        handled = container.service.handle_message(
            key, Inbound.parse_text(line, first_name="Bob", language_code="en"),
            message_id=f"{chat_id}-{number}", outbound="telegram",
            profile=Profile(first_name="Bob", username=username, language_code="en"),
        )
    assert handled.lead_id is not None
    return handled.lead_id


def snapshot(container: Container) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with container.uow() as uow:
        return {
            table.name: [tuple(row) for row in uow.session.execute(
                select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


@dataclass
class Api:
    container: Container
    http: httpx.AsyncClient
    url: str
    lead_id: int

    async def post(self, body: Any = None, *, headers: dict[str, str] | None = None,
                   content: Any = None) -> httpx.Response:
        return await self.http.post(
            self.url + "/api/events", json=body if content is None else None, content=content,
            headers=AUTH if headers is None else headers,
        )


@pytest.fixture
def container(sqlite_url: str, clock: ControlledClock) -> Iterator[Container]:
    built = build(Settings(database_url=sqlite_url, leadbot_api_key=API_KEY), clock=clock)
    yield built
    built.close()


@pytest.fixture
async def api(container: Container, serve_asgi: Any) -> AsyncIterator[Api]:
    lead_id = chat(container, "201", BOB, username="BobM")
    app = create_api_app(service=container.service, uow_factory=container.uow,
                         settings=container.settings)
    url = await serve_asgi(app)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        yield Api(container, http, url, lead_id)


async def test_a_signal_by_id_username_or_email_is_scored_and_answered(api: Api) -> None:
    response = await api.post({"lead": {"id": api.lead_id}, "event": "webinar_registration"})
    assert response.status_code == 200
    assert response.json() == {
        "lead": {"id": api.lead_id, "stage": "mql", "score": 55, "temperature": "warm"},
        "event": "webinar_registration", "duplicate": False,
    }
    # Telegram usernames ignore case and often come with their '@'; so do emails' local parts.
    for lead in ({"username": "@bobm"}, {"email": "bob.martin@clinic.org"}):
        response = await api.post({"lead": lead, "event": "email_open"})
        assert response.status_code == 200, response.text
        assert response.json()["lead"]["id"] == api.lead_id
    assert response.json()["lead"]["score"] == 55 + 2 + 2


async def test_a_retried_event_with_the_same_id_counts_once(api: Api) -> None:
    body = {"lead": {"id": api.lead_id}, "event": "content_download", "id": "dl-1"}
    first = await api.post(body)
    before = snapshot(api.container)
    again = await api.post(body)
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.json()["lead"] == first.json()["lead"] == {
        "id": api.lead_id, "stage": "mql", "score": 50, "temperature": "warm"}
    assert snapshot(api.container) == before
    # Another lead may use the same key: keys are scoped to the lead.
    other = chat(api.container, "202", ["/start", "software"], username="ann")
    response = await api.post({"lead": {"id": other}, "event": "content_download", "id": "dl-1"})
    assert response.json()["duplicate"] is False


async def chunked(*parts: bytes) -> AsyncIterator[bytes]:
    """A streamed body: httpx sends it chunked, without Content-Length."""
    for part in parts:
        yield part


BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (case, request, status, error code, words the message must contain)
    ("no auth header", {"headers": {}}, 401, "unauthorized", "Authorization: Bearer"),
    ("wrong key", {"headers": {"Authorization": "Bearer nope"}}, 401, "unauthorized", "wrong"),
    ("key with a different scheme", {"headers": {"Authorization": f"Basic {API_KEY}"}},
     401, "unauthorized", "Bearer"),
    ("unknown lead id", {"body": {"lead": {"id": 999}, "event": "email_open"}},
     404, "unknown_lead", "id 999"),
    ("unknown username", {"body": {"lead": {"username": "nobody"}, "event": "email_open"}},
     404, "unknown_lead", "username 'nobody'"),
    ("unknown email", {"body": {"lead": {"email": "x@y.z"}, "event": "email_open"}},
     404, "unknown_lead", "email 'x@y.z'"),
    ("unknown event", {"body": {"lead": {"id": 1}, "event": "webinar"}},
     422, "unknown_event", "webinar_registration"),
    ("malformed JSON", {"content": b'{"lead": {"id": 1}, "event": '}, 400, "invalid_request",
     "not valid JSON"),
    ("empty body", {"content": b""}, 400, "invalid_request", "not valid JSON"),
    ("not UTF-8", {"content": b'{"event": "\xff"}'}, 400, "invalid_request", "UTF-8"),
    ("a list, not an object", {"body": [{"lead": {"id": 1}}]}, 400, "invalid_request",
     "JSON object"),
    ("id as a string", {"body": {"lead": {"id": "1"}, "event": "email_open"}},
     400, "invalid_request", "lead.id"),
    ("id as a boolean", {"body": {"lead": {"id": True}, "event": "email_open"}},
     400, "invalid_request", "lead.id"),
    ("two ways to name the lead", {"body": {"lead": {"id": 1, "email": "a@b.c"},
                                            "event": "email_open"}},
     400, "invalid_request", "exactly one of id, username or email"),
    ("no way to name the lead", {"body": {"lead": {}, "event": "email_open"}},
     400, "invalid_request", "exactly one"),
    ("lead as a number", {"body": {"lead": 1, "event": "email_open"}}, 400, "invalid_request",
     "lead: must be a JSON object"),
    ("missing event", {"body": {"lead": {"id": 1}}}, 400, "invalid_request", "event: Field required"),
    ("event as a number", {"body": {"lead": {"id": 1}, "event": 7}}, 400, "invalid_request",
     "event"),
    ("blank event", {"body": {"lead": {"id": 1}, "event": "  "}}, 400, "invalid_request", "event"),
    ("idempotency key as a number", {"body": {"lead": {"id": 1}, "event": "email_open", "id": 5}},
     400, "invalid_request", "id:"),
    ("unknown field", {"body": {"lead": {"id": 1}, "event": "email_open", "points": 500}},
     400, "invalid_request", "points: unknown field"),
    ("deeply nested", {"content": b"[" * 5000 + b"]" * 5000}, 400, "invalid_request",
     "nested too deeply"),
    ("huge body", {"body": {"lead": {"id": 1}, "event": "email_open",
                            "pad": "x" * MAX_BODY_BYTES}}, 413, "body_too_large", "16384"),
    ("huge body without Content-Length",
     {"content": lambda: chunked(b'{"lead": {"id": 1}, "event": "email_open", "pad": "',
                                 b"x" * MAX_BODY_BYTES, b'"}')}, 413, "body_too_large", "bytes"),
]


@pytest.mark.parametrize(("case", "request_", "status", "code", "words"), BAD_REQUESTS,
                         ids=[case for case, *_ in BAD_REQUESTS])
async def test_bad_requests_get_a_clear_4xx_and_change_nothing(
    api: Api, case: str, request_: dict[str, Any], status: int, code: str, words: str,
) -> None:
    before = snapshot(api.container)
    content = request_.get("content")
    response = await api.post(request_.get("body"), headers=request_.get("headers"),
                              content=content() if callable(content) else content)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert words in response.json()["message"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if code == "unknown_event":
        assert "meeting_booked" in response.json()["known_events"]
    assert snapshot(api.container) == before


async def test_other_methods_are_refused(api: Api) -> None:
    before = snapshot(api.container)
    response = await api.http.get(api.url + "/api/events", headers=AUTH)
    assert response.status_code == 405
    assert snapshot(api.container) == before


async def test_without_a_configured_key_the_api_is_off(
    container: Container, serve_asgi: Any,
) -> None:
    lead_id = chat(container, "203", BOB, username="bob")
    settings = Settings(database_url=container.settings.database_url)  # no LEADBOT_API_KEY
    url = await serve_asgi(create_api_app(service=container.service, uow_factory=container.uow,
                                          settings=settings))
    before = snapshot(container)
    async with httpx.AsyncClient(trust_env=False) as http:
        for headers in ({}, {"Authorization": "Bearer"}, AUTH):
            response = await http.post(url + "/api/events", headers=headers,
                                       json={"lead": {"id": lead_id}, "event": "email_open"})
            assert response.status_code == 503
            assert "LEADBOT_API_KEY" in response.json()["message"]
    assert snapshot(container) == before

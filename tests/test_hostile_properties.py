"""Property: whatever JSON reaches the webhook or the events API, the answer is 200 or a 4xx.

Hypothesis generates arbitrary JSON values, and genuine requests with one field
replaced by arbitrary JSON (or removed), and posts them — authenticated — to a
real `leadbot serve` app on 127.0.0.1. The database is up, so 503 is never right
here; no answer may be a 5xx, and no traceback may reach the log.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from tests.hostile import log_problems

SECRET = "property-secret"
API_KEY = "property-key"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)

UPDATE_PATHS = ["update_id", "message", "message.chat", "message.chat.id", "message.chat.type",
                "message.from", "message.from.id", "message.from.is_bot",
                "message.from.first_name", "message.from.language_code", "message.text",
                "message.entities", "message.date", "message.message_id", "message.contact"]
EVENT_PATHS = ["lead", "lead.id", "event", "id"]


def _replace(value: dict[str, Any], path: str, new: Any) -> dict[str, Any]:
    result = copy.deepcopy(value)
    *parents, last = path.split(".")
    node: Any = result
    for key in parents:
        if not isinstance(node, dict) or key not in node:
            return result
        node = node[key]
    if new is ...:
        node.pop(last, None)
    else:
        node[last] = new
    return result


def mutated(base: st.SearchStrategy[dict[str, Any]], paths: list[str]) -> st.SearchStrategy[Any]:
    return st.builds(_replace, base, st.sampled_from(paths), st.just(...) | json_values)


updates = st.one_of(
    json_values,
    mutated(st.builds(text_update, st.integers(1, 2**40), st.integers(1, 2**40),
                      st.text(max_size=60)), UPDATE_PATHS),
    st.builds(text_update, st.integers(1, 2**40), st.integers(1, 2**40), st.text(max_size=200)),
)
events = st.one_of(
    json_values,
    mutated(st.fixed_dictionaries({
        "lead": st.fixed_dictionaries({"id": st.integers(-5, 2**70)}),
        "event": st.sampled_from(["email_open", "content_download", "x"]),
        "id": st.text(max_size=30),
    }), EVENT_PATHS),
)


class LiveServer:
    """`leadbot serve`'s app served from a thread, so synchronous Hypothesis tests can call it."""

    def __init__(self, container: Container, options: Any) -> None:
        self.container, self.options = container, options
        self.url = ""

    def __enter__(self) -> LiveServer:
        from bot.runtime import ServeOptions, build_web_parts, serve_http
        from bot.web.app import create_app

        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            options = ServeOptions(host="127.0.0.1", telegram=self.options)
            app = create_app(build_web_parts(self.container, options))

            def started(port: int) -> None:
                self.url = f"http://127.0.0.1:{port}"
                ready.set()

            await serve_http(app, host="127.0.0.1", port=0, stop=self._stop, ready=started)

        self._thread = threading.Thread(target=lambda: self._loop.run_until_complete(main()),
                                        daemon=True)
        self._thread.start()
        assert ready.wait(30), "the app did not start"
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def live(database_url: str, fake_telegram: Any, telegram_options: Any) -> Iterator[httpx.Client]:
    container = build(Settings(database_url=database_url, telegram_bot_token=fake_telegram.token,
                               telegram_api_base_url=fake_telegram.base_url,
                               telegram_webhook_secret=SECRET, leadbot_api_key=API_KEY))
    try:
        with LiveServer(container, telegram_options) as server, \
                httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        container.close()


SLOW = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _acceptable(status: int) -> bool:
    return status == 200 or 400 <= status < 500


def test_random_json_at_the_webhook_gets_200_or_4xx(
    live: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    @SLOW
    @given(update=updates)
    def post(update: Any) -> None:
        response = live.post("/telegram/webhook", content=json.dumps(update).encode(),
                             headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"})
        assert _acceptable(response.status_code), (response.status_code, response.text, update)

    post()
    assert log_problems(caplog) == []


def test_random_json_at_the_events_api_gets_200_or_4xx(
    live: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    @SLOW
    @given(event=events)
    def post(event: Any) -> None:
        response = live.post("/api/events", content=json.dumps(event).encode(),
                             headers={"Authorization": f"Bearer {API_KEY}",
                                      "Content-Type": "application/json"})
        assert _acceptable(response.status_code), (response.status_code, response.text, event)

    post()
    assert log_problems(caplog) == []

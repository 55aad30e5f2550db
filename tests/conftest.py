"""Shared fixtures. Helpers only append here (several engineers add fixtures)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# --- network guard (Telegram helper) -------------------------------------------------
# Tests talk to fakes on 127.0.0.1 only. Any connection elsewhere fails the test loudly:
# the connect raises, and — in case a library swallows that error and retries — the
# test is failed again at teardown with the address it tried to reach.

_network_violations: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like never leave the machine
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be network access


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        _network_violations.append(repr(address))
        raise ConnectionRefusedError(f"network access to {address!r} is disallowed in tests")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens a connection to a non-loopback address."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    _network_violations.clear()
    yield
    if _network_violations:
        attempted = ", ".join(_network_violations)
        _network_violations.clear()
        pytest.fail(f"test tried to reach the network: {attempted}", pytrace=False)


# --- databases (core) -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database: a SQLite file always, PostgreSQL when a server is there."""
    from tests.databases import fresh_postgres_database, postgres_unavailable_reason

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leadbot.db'}"
        return
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for tests that only make sense there (skipped without one)."""
    from tests.databases import fresh_postgres_database, postgres_unavailable_reason

    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'leadbot.db'}"


@pytest.fixture
def store(database_url: str) -> Iterator[tuple[Any, Any]]:
    """A unit of work on a migrated `database_url`, and its engine."""
    from storage import migrate
    from storage.database import create_database_engine, create_session_factory
    from storage.unit_of_work import UnitOfWork

    engine = create_database_engine(database_url)
    migrate.upgrade(engine)
    yield UnitOfWork(create_session_factory(engine)), engine
    engine.dispose()


# --- Slack (Slack helper) ---------------------------------------------------------------


@pytest.fixture
def fake_slack() -> Iterator[Any]:
    """The fake Slack Web API on 127.0.0.1 (tests.fakes.slack_api), reset per test."""
    from tests.fakes.slack_api import FakeSlackApi

    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def slack_db(sqlite_url: str) -> Iterator[Any]:
    """A migrated SQLite database for Slack tests: yields its session factory."""
    from storage import migrate
    from storage.database import create_database_engine, create_session_factory

    engine = create_database_engine(sqlite_url)
    migrate.upgrade(engine)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
def default_script() -> Any:
    from bot.settings import DEFAULT_SCRIPT
    from conversations.loader import load_script

    return load_script(DEFAULT_SCRIPT).script


@pytest.fixture
async def serve_asgi() -> Any:
    """Start an ASGI app with uvicorn on 127.0.0.1:<free port> in this event loop; returns its URL."""
    import asyncio

    import uvicorn

    servers: list[tuple[Any, Any]] = []

    async def start(app: Any) -> str:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        servers.append((server, task))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task


@pytest.fixture
def seed_lead(slack_db: Any) -> Any:
    """Write a lead as the service would at SQL (lead, answers, alert outbox row); returns its id.

    For Slack tests that need a lead without driving a whole conversation.
    """
    from datetime import UTC, datetime, timedelta

    from storage.models import Answer
    from storage.unit_of_work import UnitOfWork

    counter = iter(range(1, 10_000))

    def seed(
        *, name: str = "Ada Lovelace", company: str | None = "Analytical Engines",
        stage: str = "sql", destination: str = "slack:default", route_index: int | None = None,
        chat_id: str | None = None, channel: str = "telegram", stopped: bool = False,
        answers: tuple[tuple[str, str, str | None], ...] = (
            ("sector", "we sell accounting software", "software"),
            ("company_size", "about 120", "medium"),
            ("budget", "50k", "20k_100k"),
            ("urgency", "asap", "now"),
        ),
        alert: bool = True, db: Any = None,
    ) -> int:
        now = datetime.now(UTC)
        with UnitOfWork(db or slack_db) as uow:
            lead = uow.leads.get_or_create_locked(
                channel, chat_id or str(5000 + next(counter)), now=now - timedelta(minutes=4)
            )
            lead.first_name, lead.username = name.split()[0], name.split()[0].lower()
            lead.name, lead.company, lead.email = name, company, "ada@example.com"
            lead.source, lead.stage, lead.temperature = "spring-campaign", stage, "hot"
            lead.score, lead.fit, lead.intent = 85, 45, 40
            lead.reasons = ["budget 50 k€: +25", "wants it now: +30", "software: +20"]
            lead.qualified_at, lead.stopped = now, stopped
            conversation_id = uow.conversations.start(
                lead_id=lead.id, script_id="b2b-default", script_version="1",
                state='{"status": "completed"}', status="completed", now=now,
            )
            for question_id, raw, option in answers:
                uow.answers.add(Answer(
                    lead_id=lead.id, conversation_id=conversation_id, question_id=question_id,
                    raw_text=raw, option_id=option, confidence=0.9, via="text",
                    superseded=False, created_at=now,
                ), corrects=False)
            if alert:
                uow.outbox.add(
                    kind="slack_alert", destination=destination, lead_id=lead.id, now=now,
                    dedupe_key=f"alert:{lead.id}:sql",
                    payload={"lead_id": lead.id, "stage": "sql", "route_index": route_index},
                )
            lead_id = lead.id
            uow.commit()
        return lead_id

    return seed


# --- Telegram (Telegram helper) -------------------------------------------------------


@pytest.fixture
def fake_telegram() -> Iterator[Any]:
    """The fake Telegram Bot API on 127.0.0.1 (tests.fakes.telegram_api)."""
    from tests.fakes.telegram_api import FakeTelegram

    with FakeTelegram() as fake:
        yield fake


class TelegramProspect:
    """One prospect in a private chat with the bot; each action waits for the bot to settle."""

    def __init__(self, harness: TelegramHarness, chat_id: int, **user: Any) -> None:
        self.harness, self.chat_id, self.user = harness, chat_id, user
        self.fake = harness.fake

    async def say(self, text: str) -> list[str]:
        """Type `text`; returns the bot's new message texts."""
        return await self._then(lambda: self.fake.send_text(self.chat_id, text, **self.user))

    async def tap(self, label: str) -> list[str]:
        """Tap the button labelled `label` on the latest message that has it."""
        lang = {k: v for k, v in self.user.items() if k in ("first_name", "language_code")}
        return await self._then(lambda: self.fake.tap(self.chat_id, label, **lang))

    async def send(self, kind: str, *args: Any, **kwargs: Any) -> list[str]:
        """`send("sticker")`, `send("contact", "+33 6…")`, `send("forwarded", "text")`…"""
        helper = getattr(self.fake, f"send_{kind}")
        return await self._then(lambda: helper(self.chat_id, *args, **{**self.user, **kwargs}))

    async def _then(self, act: Any) -> list[str]:
        before = len(self.fake.messages(self.chat_id))
        self.last_update_id = act()
        await self.harness.settle()
        return self.fake.texts(self.chat_id)[before:]

    @property
    def messages(self) -> list[Any]:
        return self.fake.messages(self.chat_id)

    @property
    def buttons(self) -> list[str]:
        """Labels on the latest bot message that has a keyboard."""
        with_keyboard = [m for m in self.messages if m.inline_keyboard]
        return with_keyboard[-1].labels() if with_keyboard else []


class TelegramHarness:
    """Our bot (run_polling, in this event loop) against the fake, on its own SQLite file."""

    def __init__(self, fake: Any, container: Any) -> None:
        self.fake, self.container = fake, container

    def prospect(self, chat_id: int, **user: Any) -> TelegramProspect:
        return TelegramProspect(self, chat_id, **user)

    def pending_replies(self) -> int:
        with self.container.uow() as uow:
            return len(uow.outbox.pending(kinds=["telegram"]))

    def settled(self) -> bool:
        """Every update confirmed (so committed) and every queued reply delivered."""
        return self.fake.pending_updates() == 0 and self.pending_replies() == 0

    async def settle(self, timeout: float = 15.0) -> None:
        await self.fake.wait_for(self.settled, timeout=timeout,
                                 what="the bot to process every update and send every reply")

    def lead(self, chat_id: int) -> Any:
        """The lead row of a chat (detached), or None."""
        with self.container.uow() as uow:
            lead = uow.leads.by_chat("telegram", str(chat_id))
            if lead is not None:
                uow.session.expunge(lead)  # keep its loaded values past the rollback
            return lead

    def answers(self, chat_id: int) -> list[tuple[str, str | None]]:
        """(question_id, option_id) of the current answers, in the order given."""
        with self.container.uow() as uow:
            lead = uow.leads.by_chat("telegram", str(chat_id))
            if lead is None:
                return []
            return [(a.question_id, a.option_id) for a in uow.answers.current_for(lead.id)]


@pytest.fixture
def telegram_options() -> Any:
    """Fast but real settings for in-process bots (tests may override this fixture)."""
    from bot.telegram.application import TelegramOptions
    from bot.telegram.delivery import DeliveryPolicy
    from bot.telegram.pacing import PacingPolicy

    return TelegramOptions(
        poll_timeout=5,
        pacing=PacingPolicy(per_second=200.0, burst=50),
        delivery=DeliveryPolicy(first_backoff=0.1, idle_poll=0.5),
        request_timeout=3.0,
        overall_per_second=1000,  # tests check ordering and retries, not Telegram's 30/s
    )


@pytest.fixture
async def telegram_bot(fake_telegram: Any, tmp_path: Any, telegram_options: Any) -> Any:
    """Leadbot's Telegram long polling running against `fake_telegram`; yields a TelegramHarness."""
    import asyncio

    from bot.bootstrap import build
    from bot.settings import Settings
    from bot.telegram.polling import run_polling

    container = build(Settings(database_url=f"sqlite:///{tmp_path / 'telegram.db'}"))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_polling(
        token=fake_telegram.token, base_url=fake_telegram.base_url, service=container.service,
        uow_factory=container.uow, clock=container.clock, options=telegram_options,
        handle_signals=False, started=lambda _runtime: ready.set(), stop_event=stop,
    ))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # startup failed: raise its error here
    waiter.cancel()
    harness = TelegramHarness(fake_telegram, container)
    harness.task = task  # type: ignore[attr-defined]
    yield harness
    stop.set()
    await asyncio.wait_for(task, timeout=15)
    container.close()


# --- nurturing and engagement (nurture helper) ----------------------------------------


class ControlledClock:
    """A clock tests move by hand; pass it to `build(..., clock=clock)`. Always aware UTC."""

    def __init__(self, start: Any) -> None:
        self.now = start

    def __call__(self) -> Any:
        return self.now

    def advance(self, **delta: float) -> Any:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> ControlledClock:
    """A clock at Wednesday 25 Nov 2026, 09:00 UTC (09:00 in London, 10:00 in Paris)."""
    from datetime import UTC, datetime

    return ControlledClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


# --- web (runtime helper) ----------------------------------------------------------------


@pytest.fixture
def serve_app(telegram_options: Any) -> Any:
    """`async with serve_app(container) as url:` — `leadbot serve`'s app with its lifespan.

    The real app (webhook, Slack routes, health, metrics), built by the same code as the
    command, served by uvicorn on 127.0.0.1:<free port> in the test's event loop.
    """
    import asyncio
    from contextlib import asynccontextmanager

    from bot.runtime import ServeOptions, build_web_parts, serve_http
    from bot.web.app import create_app

    @asynccontextmanager
    async def running(container: Any, *, with_jobs: bool = False) -> Any:
        options = ServeOptions(host="127.0.0.1", telegram=telegram_options, with_jobs=with_jobs)
        stop, port = asyncio.Event(), []
        task = asyncio.create_task(serve_http(
            create_app(build_web_parts(container, options)), host="127.0.0.1", port=0,
            stop=stop, ready=port.append))
        while not port:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port[0]}"
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)

    return running

"""Two real `leadbot serve` processes switch to a published version, and back on rollback.

Each process decides which version a new conversation runs under from what it last
read from the database; the conversation records it. The test publishes and rolls
back from this process (as the CLI or the workspace would) and watches new chats
posted to each process record the new version. During an experiment both processes
put every chat in the variant the hash gives.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from benchmarks.telegram_traffic import text_update
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.errors import InvalidScript
from bot.lifecycle.experiments import assign_variant
from bot.lifecycle.models import VariantSpec
from storage.database import create_database_engine, create_session_factory
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegram
from tests.lifecycle_helpers import DEFAULT_TEXT, SECTOR_ASK, variant_of
from tests.test_scaleout_postgres import SECRET, Cluster

pytestmark = pytest.mark.slow

RELOAD_SECONDS = 1
TIMEOUT = 60  # generous: the switch itself takes at most RELOAD_SECONDS
NOTICE_RELOAD_SECONDS = 60
NOTICE_TIMEOUT = 5  # on PostgreSQL a publish is announced: well before the 60 s check
_ids = itertools.count(1)


@contextmanager
def running_cluster(database_url: str, logs: Path, reload_seconds: float) -> Iterator[Cluster]:
    with FakeTelegram() as telegram, FakeSlackApi() as slack:
        running = Cluster(database_url, telegram, slack, logs)
        running.env["LEADBOT_SCRIPT_RELOAD_SECONDS"] = str(reload_seconds)
        running.upgrade()
        running.start(web=2, workers=0)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(database_url, tmp_path, RELOAD_SECONDS) as running:
        yield running


@pytest.fixture
def listening_cluster(postgres_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """On PostgreSQL, with a periodic check so rare that only a notice explains a switch."""
    with running_cluster(postgres_url, tmp_path, NOTICE_RELOAD_SECONDS) as running:
        yield running


def start_chat(webhook: str, chat_id: int) -> None:
    update_id = next(_ids)
    response = httpx.post(webhook, json=text_update(update_id, chat_id, "/start"),
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=30)
    assert response.status_code == 200, response.text


def version_of(engine: object, chat_id: int) -> tuple[int | None, str | None]:
    with engine.connect() as db:  # type: ignore[attr-defined]
        return tuple(db.execute(text(  # type: ignore[return-value]
            "SELECT c.version_number, c.variant FROM conversations c JOIN leads l "
            "ON l.id = c.lead_id WHERE l.chat_id = :chat ORDER BY c.id DESC LIMIT 1"),
            {"chat": str(chat_id)}).one())


def new_chat_on(webhook: str, engine: object, chat: int) -> tuple[int | None, str | None]:
    start_chat(webhook, chat)
    return version_of(engine, chat)


def wait_until_serving(cluster: Cluster, engine: object, version: int, chats: Iterator[int],
                       *, timeout: float = TIMEOUT) -> None:
    """New chats on every process run `version` (each process checked until it does)."""
    for webhook in cluster.live_webhooks():
        deadline = time.monotonic() + timeout
        while True:
            chat = next(chats)
            start_chat(webhook, chat)
            if version_of(engine, chat)[0] == version:
                break
            assert time.monotonic() < deadline, f"{webhook} still serves another version\n" \
                                                f"{cluster.log_tail()}"
            time.sleep(0.2)


def test_two_processes_follow_publish_rollback_and_experiments(
    cluster: Cluster, database_url: str
) -> None:
    engine = create_database_engine(database_url)
    lifecycle = ScriptLifecycle(create_session_factory(engine))
    chats = itertools.count(70_000)
    try:
        wait_until_serving(cluster, engine, 1, chats)  # the bundled script, version 1
        published = lifecycle.publish(variant_of(DEFAULT_TEXT, SECTOR_ASK, "Your sector?"),
                                      author="ada", note="shorter")
        assert published.version.number == 2
        wait_until_serving(cluster, engine, 2, chats)
        lifecycle.rollback(author="ada", note="back")
        wait_until_serving(cluster, engine, 1, chats)

        # A broken script is refused: both keep serving version 1.
        with pytest.raises(InvalidScript):
            lifecycle.publish(DEFAULT_TEXT.replace("type: number", "type: numbr"), author="ada")
        wait_until_serving(cluster, engine, 1, chats)

        halves = [VariantSpec(name="a", version=1, weight=50),
                  VariantSpec(name="b", version=2, weight=50)]
        lifecycle.start_experiment("switch", halves, author="ada")
        for webhook in cluster.live_webhooks():  # until each process runs the experiment
            deadline = time.monotonic() + TIMEOUT
            while new_chat_on(webhook, engine, next(chats))[1] is None:
                assert time.monotonic() < deadline, cluster.log_tail()
                time.sleep(0.2)
        webhooks = cluster.live_webhooks()
        for number in range(40):
            chat = next(chats)
            expected = assign_variant("telegram", str(chat), "switch", halves)
            assert new_chat_on(webhooks[number % 2], engine, chat) == (
                expected.version, expected.name)
    finally:
        engine.dispose()


def test_on_postgresql_a_publish_and_a_rollback_reach_both_processes_at_once(
    listening_cluster: Cluster, postgres_url: str
) -> None:
    engine = create_database_engine(postgres_url)
    lifecycle = ScriptLifecycle(create_session_factory(engine))
    chats = itertools.count(90_000)
    try:
        wait_until_serving(listening_cluster, engine, 1, chats)
        lifecycle.publish(variant_of(DEFAULT_TEXT, SECTOR_ASK, "Your sector?"), author="ada")
        wait_until_serving(listening_cluster, engine, 2, chats, timeout=NOTICE_TIMEOUT)
        lifecycle.rollback(author="ada", note="back")
        wait_until_serving(listening_cluster, engine, 1, chats, timeout=NOTICE_TIMEOUT)
    finally:
        engine.dispose()

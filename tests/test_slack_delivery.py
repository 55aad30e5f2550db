"""Outbox delivery to the fake Slack: exactly once, in order, through 5xx, 429, timeouts and kills."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.bridge import queue_alert_erasure, queue_thread_relays
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from bot.slack.posting import ERASED_TEXT
from bot.slack.threads import alert_location, lead_for_thread
from conversations.dsl import Route, Script
from conversations.exchange import MessageAfterFlow
from storage.models import OutboxMessage
from storage.unit_of_work import UnitOfWork
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi, Fault

FAST = DeliveryPolicy(
    lease=timedelta(seconds=3), backoff_base=0.05, backoff_max=0.4, poll_interval=0.05
)
ROOT = Path(__file__).resolve().parent.parent


def delivery(
    fake: FakeSlackApi, db: sessionmaker[Session], *, script: Script | None = None,
    channel: str | None = "#sales", policy: DeliveryPolicy = FAST, timeout: int = 5,
) -> SlackDelivery:
    return SlackDelivery(
        session_factory=db,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake.base_url, timeout=timeout),
        default_channel=channel, script_provider=lambda: script, policy=policy,
    )


def statuses(db: sessionmaker[Session]) -> list[tuple[int, str, str]]:
    with UnitOfWork(db) as uow:
        rows = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.id, r.kind, r.status) for r in rows]


async def run_until(
    worker: SlackDelivery, done: Callable[[], bool], *, timeout: float = 20.0
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "delivery did not finish in time"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def all_delivered(db: sessionmaker[Session]) -> Callable[[], bool]:
    return lambda: all(status == "delivered" for _, _, status in statuses(db))


def alert_lead_ids(fake: FakeSlackApi, channel: str = "sales") -> list[int]:
    return [
        m["metadata"]["event_payload"]["lead_id"]
        for m in fake.channel_messages(channel)
        if "thread_ts" not in m
    ]


async def test_an_alert_is_posted_once_with_details_and_its_location_stored(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
    default_script: Script,
) -> None:
    lead_id = seed_lead()
    started = time.monotonic()
    await run_until(delivery(fake_slack, slack_db, script=default_script), all_delivered(slack_db))
    logging.getLogger(__name__).info("alert delivered in %.3f s", time.monotonic() - started)
    [message] = fake_slack.channel_messages("sales")
    text = str(message["blocks"])
    assert "Ada Lovelace" in text and "Software &amp; SaaS" in text and "we sell accounting software" in text
    assert "Qualified lead: Ada Lovelace" in message["text"]
    with UnitOfWork(slack_db) as uow:
        location = alert_location(uow, lead_id)
        assert location is not None and location.ts == message["ts"] and location.channel == "C0SALES01"
        assert lead_for_thread(uow, channel="C0SALES01", thread_ts=message["ts"]) == lead_id
        assert [e.type for e in uow.events.for_lead(lead_id)] == ["slack_alert_posted"]


async def test_without_slack_alerts_stay_pending_and_are_logged(
    slack_db: sessionmaker[Session], seed_lead: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    seed_lead()
    worker = SlackDelivery(session_factory=slack_db, client=None, default_channel=None,
                           script_provider=lambda: None, policy=FAST)
    with caplog.at_level(logging.WARNING):
        assert await worker.deliver_due() == 0
        assert await worker.deliver_due() == 0
    assert [s for _, _, s in statuses(slack_db)] == ["pending"]
    assert sum("Slack is not configured" in r.message for r in caplog.records) == 1


async def test_outage_then_rate_limit_then_recovery_delivers_each_alert_once_in_order(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
) -> None:
    leads = [seed_lead(name=f"Lead Number{i}") for i in range(5)]
    fake_slack.fail_next(6, status=503, method="chat.postMessage")
    fake_slack.fail_next(2, status=502, method="chat.postMessage")
    fake_slack.rate_limit_next(2, retry_after=1, method="chat.postMessage")
    await run_until(delivery(fake_slack, slack_db), all_delivered(slack_db), timeout=30)
    assert alert_lead_ids(fake_slack) == leads
    statuses_seen = [c.status for c in fake_slack.calls_to("chat.postMessage")]
    assert statuses_seen.count(503) == 6 and statuses_seen.count(429) == 2
    # Each 429 was honoured: the next call came at least Retry-After (1 s) later.
    calls = fake_slack.calls_to("chat.postMessage")
    for limited, following in itertools.pairwise(calls):
        if limited.status == 429:
            assert following.at - limited.at >= 0.9


async def test_a_lost_response_is_not_posted_twice(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
) -> None:
    """Slack posts the message but the answer never arrives: the retry finds it in history."""
    seed_lead()
    fake_slack.hang_next(1, seconds=2.5, method="chat.postMessage", apply=True)
    worker = delivery(fake_slack, slack_db, timeout=1)
    await run_until(worker, all_delivered(slack_db), timeout=20)
    assert len(fake_slack.channel_messages("sales")) == 1
    assert len(fake_slack.calls_to("conversations.history")) >= 1


async def test_routed_alerts_mention_reps_in_rotation_across_restarts(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
    default_script: Script,
) -> None:
    script = default_script.model_copy(update={"routing": (
        Route(channel="#sales-finance", reps=("U0SAM0001", "U0ALEX001", "U0KIM0001")),
    )})
    for i in range(2):
        seed_lead(name=f"First Batch{i}", destination="slack:#sales-finance", route_index=0)
    await run_until(delivery(fake_slack, slack_db, script=script), all_delivered(slack_db))
    for i in range(3):
        seed_lead(name=f"Second Batch{i}", destination="slack:#sales-finance", route_index=0)
    # A new worker (a restart) continues the rotation from the database.
    await run_until(delivery(fake_slack, slack_db, script=script), all_delivered(slack_db))
    mentioned = [
        next(rep for rep in ("U0SAM0001", "U0ALEX001", "U0KIM0001") if rep in str(m["blocks"]))
        for m in fake_slack.channel_messages("sales-finance")
    ]
    assert mentioned == ["U0SAM0001", "U0ALEX001", "U0KIM0001", "U0SAM0001", "U0ALEX001"]


async def test_a_message_after_the_flow_is_posted_in_the_alert_thread_after_the_alert(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
) -> None:
    lead_id = seed_lead()
    fake_slack.fail_next(3, method="chat.postMessage")  # the alert is late: the reply waits
    with UnitOfWork(slack_db) as uow:
        lead = uow.leads.get(lead_id)
        assert lead is not None
        queue_thread_relays(uow, lead, [MessageAfterFlow("Call me after 3pm <3")], lead.updated_at)
        uow.commit()
        assert len(uow.outbox.for_lead(lead_id, kind="slack_thread")) == 1
    await run_until(delivery(fake_slack, slack_db), all_delivered(slack_db))
    alert, reply = fake_slack.channel_messages("sales")
    assert reply["thread_ts"] == alert["ts"]
    assert "Call me after 3pm &lt;3" in reply["text"] and "Ada Lovelace" in reply["text"]


def test_a_lead_without_alert_gets_no_thread_relay(
    slack_db: sessionmaker[Session], seed_lead: Any
) -> None:
    lead_id = seed_lead(stage="mql", alert=False)
    with UnitOfWork(slack_db) as uow:
        lead = uow.leads.get(lead_id)
        assert lead is not None
        queue_thread_relays(uow, lead, [MessageAfterFlow("hello?")], lead.updated_at)
        assert uow.outbox.for_lead(lead_id) == []


WORKER = """
import asyncio, logging, os, sys
from datetime import timedelta
sys.path.insert(0, os.environ["LEADBOT_ROOT"])
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from storage.database import create_database_engine, create_session_factory

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
factory = create_session_factory(create_database_engine(os.environ["DATABASE_URL"]))
worker = SlackDelivery(
    session_factory=factory,
    client=build_delivery_client(token=os.environ["SLACK_BOT_TOKEN"],
                                 base_url=os.environ["SLACK_API_BASE_URL"], timeout=30),
    default_channel=os.environ["SLACK_CHANNEL"], script_provider=lambda: None,
    policy=DeliveryPolicy(lease=timedelta(seconds=1), backoff_base=0.05, backoff_max=0.3,
                          poll_interval=0.05),
)
print("READY", flush=True)
asyncio.run(worker.run_forever(asyncio.Event()))
"""


def start_worker(fake: FakeSlackApi, database_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
           "SLACK_API_BASE_URL": fake.base_url, "SLACK_CHANNEL": "#sales",
           "LEADBOT_ROOT": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=log_path.open("ab"),
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_mid_delivery_and_restarted_every_alert_once_in_order(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any, sqlite_url: str,
    tmp_path: Path,
) -> None:
    leads = [seed_lead(name=f"Killed Lead{i}") for i in range(6)]
    fake_slack.fail_next(2, status=503, method="chat.postMessage")
    # The third alert is posted, then its answer hangs: the worker dies before recording it.
    fake_slack.inject(Fault("hang", 1, method="chat.postMessage", seconds=60, apply=True, skip=2))
    first = start_worker(fake_slack, sqlite_url, tmp_path / "worker.log")
    try:
        wait_for(lambda: len(alert_lead_ids(fake_slack)) >= 3, 30, "three alerts posted")
        time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert [s for _, _, s in statuses(slack_db)][2] == "pending"  # posted but not recorded
    fake_slack.clear_faults()
    fake_slack.fail_next(2, status=503, method="chat.postMessage")
    fake_slack.rate_limit_next(1, retry_after=1, method="chat.postMessage")
    second = start_worker(fake_slack, sqlite_url, tmp_path / "worker.log")
    try:
        wait_for(all_delivered(slack_db), 40, "every alert delivered after restart")
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    assert alert_lead_ids(fake_slack) == leads, (tmp_path / "worker.log").read_text()[-3000:]



async def test_forget_blanks_the_alert_and_deletes_our_thread_messages(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
) -> None:
    lead_id = seed_lead()
    with UnitOfWork(slack_db) as uow:
        lead = uow.leads.get(lead_id)
        assert lead is not None
        queue_thread_relays(uow, lead, [MessageAfterFlow("my mobile is 06 12 34 56 78")], lead.updated_at)
        uow.commit()
    await run_until(delivery(fake_slack, slack_db), all_delivered(slack_db))
    alert = fake_slack.channel_messages("sales")[0]
    fake_slack.add_user_message("sales", user="U0SAM0001", text="calling now", thread_ts=alert["ts"])
    with UnitOfWork(slack_db) as uow:  # what the service does on /forget
        lead = uow.leads.get(lead_id)
        assert lead is not None
        assert queue_alert_erasure(uow, lead, lead.updated_at)
        uow.leads.delete(lead)
        uow.commit()
    await run_until(delivery(fake_slack, slack_db), all_delivered(slack_db))
    remaining = fake_slack.channel_messages("sales")
    assert [m["text"] for m in remaining] == [ERASED_TEXT, "calling now"]
    assert remaining[0]["blocks"] == []


async def test_without_slack_each_alert_is_announced_once_and_only_new_rows_are_read(
    slack_db: sessionmaker[Session], seed_lead: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    unconfigured = SlackDelivery(session_factory=slack_db, client=None, default_channel=None,
                                 script_provider=lambda: None, policy=FAST)
    first, second = seed_lead(), seed_lead()

    def announced() -> list[str]:
        return [r.getMessage() for r in caplog.records if "stays pending" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="bot.slack.delivery"):
        await unconfigured.deliver_due()
        await unconfigured.deliver_due()  # nothing new: nothing said again
        assert announced() == [
            f"Slack is not configured (SLACK_BOT_TOKEN): slack_alert for lead #{lead} stays pending"
            for lead in (first, second)]
        third = seed_lead()
        await unconfigured.deliver_due()
    assert announced()[2:] == [
        f"Slack is not configured (SLACK_BOT_TOKEN): slack_alert for lead #{third} stays pending"]
    assert [status for _, _, status in statuses(slack_db)] == ["pending"] * 3  # nothing lost
    with UnitOfWork(slack_db) as uow:  # the look reads only rows after the last one announced
        assert uow.outbox.pending(kinds=["slack_alert"], after=max(
            row.id for row in uow.outbox.pending(kinds=["slack_alert"]))) == []

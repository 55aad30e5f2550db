"""Outbound webhooks end to end: real service, real outbox worker, real HTTP to a receiver on
127.0.0.1 that verifies every signature the published way. Each endpoint gets the events it
asked for, each once and in order per lead, across a receiver outage of several minutes
(controlled clock) and across a `kill -9` of the worker process (real time)."""

from __future__ import annotations

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

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from bot.bootstrap import Container, utc_now
from bot.integrations.lead_events import LEAD_EVENT_KIND
from bot.service import ConversationKey, Profile
from bot.slack.lead_actions import claim_lead, disqualify_lead
from conversations.exchange import Inbound
from bot.web.metrics import sample_database
from tests.conftest import ControlledClock
from tests.fakes.webhook_receiver import FakeWebhookReceiver
from tests.integration_helpers import integration_worker, open_container, rows, run_worker_until, settled
from tests.sla_helpers import qualify
from tests.test_web_metrics import parse_prometheus, value

ROOT = Path(__file__).resolve().parent.parent
ALL = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SOME = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def _exposition(families: list[Any]) -> str:
    """The gauges as `GET /metrics` writes them (prometheus_client's text format)."""
    registry = CollectorRegistry()

    class Sampled(Collector):
        def collect(self) -> Any:
            return families

    registry.register(Sampled())
    return generate_latest(registry).decode()


def webhooks_file(tmp_path: Path, receiver: FakeWebhookReceiver) -> Path:
    path = tmp_path / "webhooks.yaml"
    path.write_text(
        f"- url: {receiver.url('/all')}\n  secret: {ALL}\n"
        f"- url: {receiver.url('/crm')}\n  secret: {SOME}\n  events: [lead.qualified, lead.claimed, lead.erased]\n",
        encoding="utf-8")
    return path


def forget(container: Container, chat_id: str) -> None:
    key = ConversationKey("telegram", chat_id)
    for inbound in (Inbound.parse_text("/forget"), Inbound(kind="choice", choice="f:yes")):
        container.service.handle_message(key, inbound, message_id=None, profile=Profile(),
                                         outbound="telegram")


def play_three_leads(container: Container, clock: ControlledClock) -> tuple[int, int, int]:
    """One claimed, one disqualified by a rep, one erased with /forget."""
    claimed, dropped, erased = qualify(container, "701"), qualify(container, "702"), qualify(container, "703")
    with container.uow() as uow:
        claim_lead(uow, lead_id=claimed, user_id="U0SAM0001", user_name="sam", now=clock.now)
        disqualify_lead(uow, lead_id=dropped, user_id="U0SAM0001", user_name="sam", reason="no_budget",
                        now=clock.now)
        uow.commit()
    forget(container, "703")
    return claimed, dropped, erased


def published(container: Container) -> list[tuple[str, int]]:
    """(type, lead id) of every lead event, in the order they were decided."""
    return [(r.payload["type"], r.payload["lead_id"]) for r in rows(container, LEAD_EVENT_KIND)]


def received(receiver: FakeWebhookReceiver, path: str) -> list[tuple[str, int]]:
    return [(e["type"], e["data"]["lead_id"]) for e in receiver.events(path)]


async def test_each_endpoint_gets_its_events_once_in_order_across_a_long_receiver_outage(
    database_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    with FakeWebhookReceiver({"/all": ALL, "/crm": SOME}, clock=clock) as receiver:
        container = open_container(database_url, None, clock,
                                   leadbot_webhooks_file=webhooks_file(tmp_path, receiver))
        receiver.set_down(True)
        claimed, dropped, erased = play_three_leads(container, clock)
        outage_ends = clock.now + timedelta(minutes=7)

        def tick() -> None:  # 10 s of clock time per step; the receiver is back after 7 min
            clock.advance(seconds=10)
            if clock.now >= outage_ends:
                receiver.set_down(False)

        await run_worker_until(integration_worker(container),
                               lambda: settled(container, LEAD_EVENT_KIND, "webhook"), tick=tick)

        assert receiver.state.attempts > 10 and receiver.state.rejected == []
        order = published(container)
        assert received(receiver, "/all") == order  # every event, in the order decided
        crm_events = {"lead.qualified", "lead.claimed", "lead.erased"}
        assert received(receiver, "/crm") == [e for e in order if e[0] in crm_events]
        # the erased lead's earlier events were still queued when it was erased: dropped, not sent
        assert received(receiver, "/crm") == [("lead.qualified", claimed), ("lead.qualified", dropped),
                                              ("lead.claimed", claimed), ("lead.erased", erased)]
        assert ("lead.disqualified", dropped) in order and ("lead.stage_changed", dropped) in order
        assert receiver.state.redeliveries == 0
        assert all(r.status == "delivered" for r in rows(container, "webhook"))
        card = next(e for e in receiver.events("/all") if e["type"] == "lead.claimed")["data"]
        assert card["by"] == {"slack_user_id": "U0SAM0001", "name": "sam"}
        assert card["lead"]["contact"]["email"] == "ada@example.com"
        assert card["lead"]["owner"] == {"slack_user_id": "U0SAM0001", "name": "sam"}
        assert {a["question"]: a["option"] for a in card["lead"]["answers"]}["sector"] == "software"
        with container.uow() as uow:  # what /metrics shows
            families = parse_prometheus(_exposition(sample_database(uow, clock.now)))
        delivered = len(rows(container, "webhook"))
        assert value(families, "leadbot_integration_deliveries", kind="webhook", status="delivered") == delivered
        assert value(families, "leadbot_integration_deliveries", kind="webhook", status="failed") == 0
        assert (value(families, "leadbot_integration_failed_attempts", kind="webhook") or 0) >= delivered
        erased_event = receiver.events("/all")[-1]
        assert erased_event == {"type": "lead.erased", "version": 1,
                                "timestamp": erased_event["timestamp"], "data": {"lead_id": erased}}
        container.close()


WORKER = """
import asyncio, logging, os, sys
from datetime import timedelta
sys.path.insert(0, os.environ["LEADBOT_ROOT"])
from bot.bootstrap import build
from bot.dbgate import DatabaseGate
from bot.outbox.destinations import background_senders
from bot.outbox.worker import OutboxWorker, WorkerPolicy
from bot.settings import Settings

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
container = build(Settings())
policy = WorkerPolicy(lease=timedelta(seconds=2), attempt_timeout=None, max_attempts=None,
                      first_backoff=0.05, max_backoff=0.5, idle_poll=0.05)
worker = OutboxWorker(name="integrations", db=DatabaseGate.for_database(container.uow),
                      uow_factory=container.uow, clock=container.clock, policy=policy,
                      senders=background_senders(container))
asyncio.run(worker.run_forever(asyncio.Event()))
"""


def start_worker(database_url: str, webhooks: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "LEADBOT_WEBHOOKS_FILE": str(webhooks),
           "LEADBOT_ROOT": str(ROOT), "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_loses_nothing_and_the_receiver_sees_each_event_once_in_order(
    sqlite_url: str, tmp_path: Path,
) -> None:
    with FakeWebhookReceiver({"/all": ALL, "/crm": SOME}) as receiver:
        webhooks = webhooks_file(tmp_path, receiver)
        container = open_container(sqlite_url, None, utc_now, leadbot_webhooks_file=webhooks)
        for chat in ("801", "802", "803"):
            qualify(container, chat)
        receiver.hang_after_accepting(path="/all", nth=4, seconds=30)  # the 4th event: taken, no answer
        log = tmp_path / "worker.log"
        first = start_worker(sqlite_url, webhooks, log)
        try:
            wait_for(lambda: len(receiver.events("/all")) >= 4, 60, "four events received")
            time.sleep(0.3)
            first.send_signal(signal.SIGKILL)  # while the 4th delivery waits for its answer
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        second = start_worker(sqlite_url, webhooks, log)
        try:
            wait_for(lambda: settled(container, LEAD_EVENT_KIND, "webhook"), 90, "every event delivered")
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait(10)
        order = published(container)
        assert received(receiver, "/all") == order, log.read_text()[-3000:]
        assert received(receiver, "/crm") == [e for e in order if e[0] == "lead.qualified"]
        assert receiver.state.redeliveries >= 1  # the killed delivery went again, same webhook-id
        assert receiver.state.rejected == []
        container.close()



async def test_a_dead_endpoint_holds_up_only_its_own_events(
    sqlite_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    with FakeWebhookReceiver({"/all": ALL}, clock=clock) as receiver:  # "/crm" answers 404, always
        container = open_container(sqlite_url, None, clock,
                                   leadbot_webhooks_file=webhooks_file(tmp_path, receiver))
        play_three_leads(container, clock)
        await run_worker_until(
            integration_worker(container),
            lambda: settled(container, LEAD_EVENT_KIND) and received(receiver, "/all") == published(container),
            tick=lambda: clock.advance(seconds=10))
        dead = [r for r in rows(container, "webhook") if r.status == "pending"]
        assert dead and all(r.last_error == "HTTP 404" for r in dead if r.attempts)
        container.close()

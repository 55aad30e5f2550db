"""Shared set-up for the webhook and HubSpot end-to-end tests: a container wired from
environment-like settings, and the background outbox worker with its senders."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.bootstrap import Container, build
from bot.dbgate import DatabaseGate
from bot.outbox.destinations import background_senders
from bot.outbox.worker import OutboxWorker, WorkerPolicy
from bot.settings import Settings
from storage.models import OutboxMessage

# In clock time: long leases (no kill here), short back-off.
FAST = WorkerPolicy(lease=timedelta(hours=1), attempt_timeout=None, max_attempts=None,
                    first_backoff=1.0, max_backoff=120.0, idle_poll=0.02, min_claim_interval=0.0)


def open_container(database_url: str, script: Path | None, clock: Any, **settings: Any) -> Container:
    return build(Settings(database_url=database_url, **settings), script_path=script, clock=clock)


def integration_worker(container: Container, policy: WorkerPolicy = FAST) -> OutboxWorker:
    return OutboxWorker(name="integrations", db=DatabaseGate.for_database(container.uow),
                        uow_factory=container.uow, clock=container.clock, policy=policy,
                        senders=background_senders(container))


def rows(container: Container, *kinds: str) -> list[OutboxMessage]:
    with container.uow() as uow:
        found = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(kinds))
                                         .order_by(OutboxMessage.id)))
        for row in found:
            uow.session.expunge(row)
        return found


def settled(container: Container, *kinds: str) -> bool:
    return all(row.status != "pending" for row in rows(container, *kinds))


async def run_worker_until(worker: OutboxWorker, done: Callable[[], bool], *, timeout: float = 60.0,
                           tick: Callable[[], None] | None = None) -> None:
    """Run `worker` until `done()`; `tick` runs between checks (e.g. moves a clock on)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(done):
            assert time.monotonic() < deadline, "the worker did not finish in time"
            assert not task.done(), task.exception()
            if tick is not None:
                tick()
            worker.kick()
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)

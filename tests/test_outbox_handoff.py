"""The outbox worker's hand-off: replies leave without the claim loop, deliveries are
recorded by the next transaction, and nothing is lost when that transaction fails.

A message's transaction leases its first reply for this process's sender
(`claim_destination`) and records the deliveries that finished since the last
transaction, so under load the worker runs no transaction of its own. The rows
queued behind a handed-off one (a tap's "✓" edit, then the next question) are
claimed as soon as it is sent, not at the next idle poll: these tests set that poll
to a minute, so only the hand-off bookkeeping can deliver in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.bootstrap import Container, build
from bot.dbgate import DatabaseGate
from bot.outbox.worker import Delivered, OutboxWorker, WorkerPolicy
from bot.settings import Settings
from storage.models import OutboxMessage
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork

KIND = "handoff-test"


@pytest.fixture
def telegram_options() -> Any:
    """The conftest's settings, but the loop never wakes up by itself within a test."""
    from bot.telegram.application import TelegramOptions
    from bot.telegram.delivery import DeliveryPolicy
    from bot.telegram.pacing import PacingPolicy

    return TelegramOptions(
        poll_timeout=5,
        pacing=PacingPolicy(per_second=200.0, burst=50),
        delivery=DeliveryPolicy(first_backoff=0.1, idle_poll=60.0, lease_renew_every=60.0,
                                sender_lease=timedelta(minutes=5)),
        request_timeout=3.0,
        overall_per_second=1000,
    )


async def test_the_question_behind_a_tap_leaves_as_soon_as_the_edit_is_sent(
    telegram_bot: Any,
) -> None:
    ada = telegram_bot.prospect(811)
    await ada.say("/start")
    for label in ("Software & SaaS", "51–200"):
        started = asyncio.get_running_loop().time()
        texts = await ada.tap(label)  # waits until both rows are delivered and recorded
        assert asyncio.get_running_loop().time() - started < 10  # not the minute's poll
        assert len(texts) == 1
    assert ada.messages[-1].text == "What budget do you have in mind for this project?"


class RecordingSender:
    """Delivers every row at once and remembers which."""

    kinds = (KIND,)

    def __init__(self) -> None:
        self.sent: list[int] = []

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> int:
        return row.id

    async def send(self, job: int) -> Delivered:
        self.sent.append(job)
        return Delivered({"sent": job})

    def on_delivered(self, uow: UnitOfWork, job: Any, result: dict[str, Any],
                     now: datetime) -> None:
        pass


@pytest.fixture
def container(tmp_path: Any) -> Iterator[Container]:
    built = build(Settings(database_url=f"sqlite:///{tmp_path / 'handoff.db'}"))
    yield built
    built.close()


def _status(container: Container, row_id: int) -> str:
    with container.uow() as uow:
        row = uow.session.get(OutboxMessage, row_id)
        assert row is not None
        return row.status


def _queue_and_hand_off(worker: OutboxWorker, uow: UnitOfWork, destination: str) -> Any:
    now = datetime.now(UTC)
    uow.outbox.queue_many(kind=KIND, destination=destination, payloads=[{"n": 1}], now=now)
    return worker.claim_destination(uow, destination, now)


async def test_a_delivery_is_recorded_by_the_next_transaction_and_survives_its_rollback(
    container: Container,
) -> None:
    sender = RecordingSender()
    worker = OutboxWorker(name="handoff", db=DatabaseGate(1), uow_factory=container.uow,
                          clock=lambda: datetime.now(UTC), senders=[sender],
                          policy=WorkerPolicy(idle_poll=60.0))
    worker.sending = True  # the loop is not running: nothing records behind our back

    with container.uow() as uow:
        first = _queue_and_hand_off(worker, uow, f"{KIND}:1")
        uow.commit()
    worker.launch(first)
    while not sender.sent:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)  # the outcome is kept once the send returns
    assert _status(container, first.row_id) == "pending"  # sent, not recorded yet

    # The next message's transaction records it — but this one fails: nothing is lost.
    with pytest.raises(RuntimeError), container.uow() as uow:
        _queue_and_hand_off(worker, uow, f"{KIND}:2")
        raise RuntimeError("the message's transaction failed")
    assert _status(container, first.row_id) == "pending"

    with container.uow() as uow:
        second = _queue_and_hand_off(worker, uow, f"{KIND}:3")
        uow.commit()
    assert _status(container, first.row_id) == "delivered"
    assert _status(container, second.row_id) == "pending"  # leased, on its way
    worker.launch(second)
    await worker.stop()  # records what is still in flight
    assert _status(container, second.row_id) == "delivered"
    assert sender.sent == [first.row_id, second.row_id]


def test_undo_runs_only_when_the_unit_of_work_does_not_commit(container: Container) -> None:
    undone: list[str] = []
    with container.uow() as uow:
        uow.if_rolled_back(lambda: undone.append("committed"))
        uow.commit()
    with container.uow() as uow:
        uow.if_rolled_back(lambda: undone.append("left"))
    assert undone == ["left"]

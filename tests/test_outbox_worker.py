"""The outbox worker skeleton: one bad row never stops delivery; back-off has jitter.

A row that can never be sent (a chat id that is not a number, an erase order
without its message) is marked failed with its reason, shows on /metrics, and every
other prospect and channel still gets its messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from benchmarks.telegram_traffic import HOT, SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.outbox.worker import WorkerPolicy, backoff_delay
from bot.settings import Settings
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from bot.slack.threads import ERASE_KIND
from bot.telegram.delivery import KIND, chat_id_of
from storage.models import OutboxMessage
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi
from tests.test_web_metrics import parse_prometheus, value

SECRET = "outbox-secret"
BAD_DESTINATIONS = ("telegram:abc", "telegram:99999999999999999999999999", "telegram:")


@pytest.fixture
def container(database_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(database_url=database_url, telegram_bot_token=fake_telegram.token,
                           telegram_api_base_url=fake_telegram.base_url,
                           telegram_webhook_secret=SECRET))
    yield built
    built.close()


def _queue_bad_rows(container: Container) -> list[int]:
    now = datetime.now(UTC)
    with container.uow() as uow:
        rows = [uow.outbox.add(kind=KIND, destination=d, payload={"text": "hi"}, now=now)
                for d in BAD_DESTINATIONS]
        uow.session.flush()
        ids = [row.id for row in rows if row is not None]
        uow.commit()
    return ids


def _rows(container: Container, ids: list[int]) -> list[tuple[str, str]]:
    with container.uow() as uow:
        found = [uow.session.get(OutboxMessage, i) for i in ids]
        return [(row.status, row.last_error or "") for row in found if row is not None]


async def test_unsendable_telegram_rows_fail_with_their_reason_and_others_get_replies(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    bad = _queue_bad_rows(container)
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        for update_id, text in enumerate(HOT[:3], 1):
            response = await client.post("/telegram/webhook",
                                         json=text_update(update_id, 701, text),
                                         headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
            await fake_telegram.wait_for(lambda n=update_id: len(fake_telegram.texts(701)) >= n,
                                         timeout=15, what=f"the reply to message {update_id}")
        statuses = _rows(container, bad)
        metrics = parse_prometheus((await client.get("/metrics")).text)
    assert [status for status, _ in statuses] == ["failed"] * len(BAD_DESTINATIONS)
    assert all(error.startswith("unsendable: ValueError") for _, error in statuses), statuses
    assert value(metrics, "leadbot_outbox_failed", kind=KIND) == len(BAD_DESTINATIONS)


async def test_an_unsendable_slack_row_fails_and_the_channel_keeps_flowing(
    container: Container, fake_slack: FakeSlackApi
) -> None:
    now = datetime.now(UTC)
    with container.uow() as uow:
        broken = uow.outbox.add(kind=ERASE_KIND, destination="slack-erase:C1", payload={}, now=now)
        thread = uow.outbox.add(kind="slack_thread", destination="slack-erase:C1",
                                payload={"alert_outbox_id": "not-an-id"}, now=now)
        uow.session.flush()
        ids = [row.id for row in (broken, thread) if row is not None]
        uow.commit()
    worker = SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        default_channel="#sales", script_provider=lambda: None,
        policy=DeliveryPolicy(poll_interval=0.05))
    assert await worker.deliver_due() == 1  # the erase row: failed, and the claim went on
    assert await worker.deliver_due() == 1  # the thread row behind it: no alert to post into
    statuses = _rows(container, ids)
    assert statuses[0][0] == "failed" and statuses[0][1].startswith("unsendable: ValueError")
    assert statuses[1] == ("failed", "no alert thread to post into")


def test_chat_ids_are_read_strictly() -> None:
    assert chat_id_of("telegram:42") == 42
    assert chat_id_of("telegram:-1001234567890") == -1001234567890
    for bad in (*BAD_DESTINATIONS, "slack:42", "telegram:4 2", "telegram:٤٢"):
        with pytest.raises(ValueError):
            chat_id_of(bad)


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = WorkerPolicy(first_backoff=1.0, max_backoff=8.0)
    for attempts, full in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)):
        delays = {backoff_delay(attempts, policy) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # spread out, so retrying workers do not move in lockstep


def test_two_senders_cannot_claim_one_kind(container: Container) -> None:
    from bot.dbgate import DatabaseGate
    from bot.outbox.worker import OutboxWorker
    from bot.slack.delivery import SlackSender

    sender = SlackSender(client=build_delivery_client(token="x", base_url="http://127.0.0.1:9/"),
                         default_channel=None, script_provider=lambda: None,
                         policy=DeliveryPolicy())
    worker = OutboxWorker(name="w", db=DatabaseGate(1), uow_factory=container.uow,
                          clock=lambda: datetime.now(UTC), senders=[sender])
    assert worker.kinds == sorted(sender.kinds)
    with pytest.raises(ValueError, match="already has a sender"):
        worker.register(sender)

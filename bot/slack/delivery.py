"""Delivering Slack outbox rows (alerts, their updates, thread messages): at most once, in order, through outages.

The loop claims due rows with a lease (`OutboxRepository.claim_due`: only each
destination's oldest pending row, so a channel's alerts go out in order), posts them
with slack_sdk's `AsyncWebClient`, and records the result in a second short
transaction. Between the post and that record a crash would normally cause a
duplicate, so every post carries message metadata naming its outbox row and a row
claimed again (attempts > 1) is first looked for in the channel history/thread (the
Slack calls themselves are in `bot.slack.posting`).

Errors: network errors and 5xx back off exponentially with jitter; 429 waits for
`Retry-After`; configuration errors (unknown channel, bad token) keep retrying at
the longest back-off so nothing is lost while someone fixes the setup; a message
Slack rejects as malformed fails for good (it would block its channel otherwise).
The lease must outlive the client's timeout, or a second worker could post while
the first one's request is still in flight.

Database work runs in a thread (`asyncio.to_thread`): the SQLAlchemy session is
synchronous and SQLite may wait for its write lock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.alert import alert_blocks, alert_fallback_text, escape_mrkdwn
from bot.slack.card_source import EVENT_ALERT_POSTED, load_alert_card
from bot.slack.channels import ChannelNotFound, ChannelResolver
from bot.slack.posting import erase_alert, find_posted, post_message
from bot.slack.routing import rotation_key, route_of, take_rep_turn
from bot.slack.threads import (
    ALERT_KIND,
    ERASE_KIND,
    ESCALATION_KIND,
    THREAD_KIND,
    UPDATE_KIND,
    remember_alert_thread,
)
from conversations.dsl import Script
from storage.models import OutboxMessage
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

KINDS = (ALERT_KIND, THREAD_KIND, ERASE_KIND, UPDATE_KIND, ESCALATION_KIND)
DEFAULT_DESTINATION = "slack:default"
# Slack rejects the message itself: retrying the same request cannot succeed.
PERMANENT_ERRORS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_arguments",
    "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large",
    "too_many_attachments", "thread_not_found",
})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta = timedelta(seconds=60)
    backoff_base: float = 2.0  # seconds; doubled per attempt
    backoff_max: float = 300.0
    poll_interval: float = 0.5  # keeps alerts within ~2 s of the qualifying answer
    batch: int = 20


@dataclass(frozen=True, slots=True)
class DueMessage:
    """A claimed outbox row, copied out of its session so it can cross threads."""

    id: int
    kind: str
    destination: str
    lead_id: int | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class RetryLater(Exception):
    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class SlackDelivery:
    """One delivery worker. `client=None` means Slack is not configured: rows stay pending."""

    def __init__(
        self, *, session_factory: sessionmaker[Session], client: AsyncWebClient | None,
        default_channel: str | None, script_provider: Callable[[], Script | None],
        policy: DeliveryPolicy = DeliveryPolicy(), clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self._client = client
        self._channels = ChannelResolver(client) if client is not None else None
        self._default_channel = default_channel
        self._script = script_provider
        self._policy = policy
        self._clock = clock
        self._wake = asyncio.Event()
        self._announced: set[int] = set()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after committing an outbox row)."""
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                delivered = await self.deliver_due()
            except Exception:  # the database may be briefly unavailable; keep the loop alive
                log.exception("slack delivery pass failed")
                delivered = 0
            if delivered:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=self._policy.poll_interval,
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def deliver_due(self) -> int:
        """One pass: claim due rows and deliver them; returns how many were claimed."""
        if self._client is None:
            await asyncio.to_thread(self._announce_pending)
            return 0
        due = await asyncio.to_thread(self._claim)
        # Each claimed row heads a different destination: they may go out concurrently.
        await asyncio.gather(*(self._deliver_one(message) for message in due))
        return len(due)

    # --- transactions (run in a worker thread) -------------------------------------

    def _claim(self) -> list[DueMessage]:
        now = self._clock()
        script = self._script()
        with UnitOfWork(self._sessions) as uow:
            rows = uow.outbox.claim_due(
                kinds=KINDS, now=now, lease=self._policy.lease, limit=self._policy.batch
            )
            for row in rows:
                if row.kind == ALERT_KIND and "rep" not in row.payload:
                    self._assign_rep(uow, row, script, now)
            claimed = [_snapshot(row) for row in rows]
            uow.commit()
        return claimed

    def _assign_rep(self, uow: UnitOfWork, row: OutboxMessage, script: Script | None, now: datetime) -> None:
        # Chosen once per alert and stored on the row, so a retry mentions the same rep.
        index = row.payload.get("route_index")
        route = route_of(script, index)
        if script is None or route is None or not route.reps or not isinstance(index, int):
            return
        rep = take_rep_turn(uow, key=rotation_key(script.id, index), reps=route.reps, now=now)
        row.payload = {**row.payload, "rep": rep}

    def _announce_pending(self) -> None:
        with UnitOfWork(self._sessions) as uow:
            for row in uow.outbox.pending(kinds=KINDS):
                if row.id not in self._announced:
                    self._announced.add(row.id)
                    log.warning(
                        "Slack is not configured (SLACK_BOT_TOKEN): %s for lead #%s stays pending",
                        row.kind, row.lead_id,
                    )

    def _load_card_payload(self, message: DueMessage) -> tuple[list[dict[str, Any]], str] | None:
        with UnitOfWork(self._sessions) as uow:
            if message.lead_id is None:
                return None
            rep = message.payload.get("rep")
            card = load_alert_card(
                uow, message.lead_id, self._script(), rep_id=rep if isinstance(rep, str) else None
            )
        if card is None:
            return None
        return alert_blocks(card), alert_fallback_text(card)

    def _alert_result(self, alert_id: int) -> tuple[str, dict[str, Any]] | None:
        with UnitOfWork(self._sessions) as uow:
            row = uow.outbox.get(alert_id)
            return (row.status, dict(row.result or {})) if row is not None else None

    def _record_delivered(self, message: DueMessage, channel: str, ts: str) -> None:
        now = self._clock()
        with UnitOfWork(self._sessions) as uow:
            uow.outbox.mark_delivered(message.id, result={"channel": channel, "ts": ts}, now=now)
            if message.kind == ALERT_KIND and message.lead_id is not None:
                remember_alert_thread(uow, lead_id=message.lead_id, channel=channel, ts=ts, now=now)
                uow.events.add(
                    lead_id=message.lead_id, type=EVENT_ALERT_POSTED,
                    payload={"channel": channel, "ts": ts, "outbox_id": message.id}, now=now,
                )
            uow.commit()

    def _record_retry(self, message: DueMessage, error: str, delay: float) -> None:
        with UnitOfWork(self._sessions) as uow:
            retry_at = self._clock() + timedelta(seconds=delay)
            uow.outbox.mark_retry(message.id, error=error, retry_at=retry_at)
            uow.commit()

    def _record_failed(self, message: DueMessage, error: str) -> None:
        with UnitOfWork(self._sessions) as uow:
            uow.outbox.mark_failed(message.id, error=error)
            uow.commit()

    # --- one message -----------------------------------------------------------------

    async def _deliver_one(self, message: DueMessage) -> None:
        try:
            if message.kind == ALERT_KIND:
                await self._deliver_alert(message)
            elif message.kind == ERASE_KIND:
                await self._erase_alert(message)
            elif message.kind == UPDATE_KIND:
                await self._update_alert(message)
            elif message.kind == ESCALATION_KIND:
                await self._deliver_escalation(message)
            else:
                await self._deliver_thread_message(message)
        except SlackApiError as exc:
            await self._handle_api_error(message, exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await self._retry(message, f"network: {type(exc).__name__}: {exc}", None)
        except ChannelNotFound as exc:
            log.error("%s (outbox #%s)", exc, message.id)
            await self._retry(message, str(exc), self._policy.backoff_max)
        except RetryLater as exc:
            await self._retry(message, str(exc), exc.delay)
        except Exception as exc:  # a bug must not stop the other channels' deliveries
            log.exception("delivering outbox #%s failed", message.id)
            await self._retry(message, f"{type(exc).__name__}: {exc}", None)

    async def _handle_api_error(self, message: DueMessage, exc: SlackApiError) -> None:
        # slack_sdk puts the raw aiohttp response here when a body was not valid JSON.
        response = exc.response
        status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429:
            retry_after = _retry_after_seconds(getattr(response, "headers", {}))
            await self._retry(message, "rate limited (429)", retry_after)
        elif status >= 500:
            await self._retry(message, f"Slack {status}", None)
        elif error in PERMANENT_ERRORS:
            log.error("Slack rejected outbox #%s for good: %s", message.id, error)
            await asyncio.to_thread(self._record_failed, message, f"slack: {error}")
        else:
            # invalid_auth, not_in_channel, channel_not_found…: a setup problem someone can fix.
            log.error("Slack refused outbox #%s: %s; will retry", message.id, error or status)
            await self._retry(message, f"slack: {error or status}", self._policy.backoff_max)

    async def _retry(self, message: DueMessage, error: str, delay: float | None) -> None:
        if delay is None:
            delay = backoff_delay(message.attempts, self._policy)
        log.info("outbox #%s: %s; retrying in %.2f s", message.id, error, delay)
        await asyncio.to_thread(self._record_retry, message, error, delay)

    def _channel_name(self, destination: str) -> str:
        if destination == DEFAULT_DESTINATION or not destination.startswith("slack:"):
            if not self._default_channel:
                raise ChannelNotFound("no Slack channel: set SLACK_CHANNEL or a routing channel")
            return self._default_channel
        return destination[len("slack:"):]

    async def _deliver_alert(self, message: DueMessage) -> None:
        assert self._client is not None and self._channels is not None
        channel = await self._channels.resolve(self._channel_name(message.destination))
        if message.attempts > 1:
            found = await self._find_posted(message, channel=channel, thread_ts=None)
            if found is not None:
                log.info("outbox #%s was already posted (ts %s); not posting again", message.id, found)
                await asyncio.to_thread(self._record_delivered, message, channel, found)
                return
        content = await asyncio.to_thread(self._load_card_payload, message)
        if content is None:
            await asyncio.to_thread(self._record_failed, message, "lead erased before delivery")
            return
        blocks, text = content
        try:
            response = await self._post(message, channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code != 200 or exc.response.get("error") != "invalid_blocks":
                raise
            # A card Slack refuses must still reach sales: fall back to the plain text.
            log.error("Slack refused the alert blocks of outbox #%s; posting text only", message.id)
            response = await self._post(message, channel=channel, text=text, blocks=None)
        await asyncio.to_thread(
            self._record_delivered, message, str(response["channel"]), str(response["ts"])
        )

    async def _deliver_thread_message(self, message: DueMessage) -> None:
        alert_id = message.payload.get("alert_outbox_id")
        alert = await asyncio.to_thread(self._alert_result, int(alert_id)) if isinstance(alert_id, int) else None
        if alert is None or alert[0] in ("failed", "cancelled"):
            await asyncio.to_thread(self._record_failed, message, "no alert thread to post into")
            return
        status, result = alert
        if status != "delivered":
            raise RetryLater("the alert is not posted yet", delay=self._policy.poll_interval)
        channel, thread_ts = str(result["channel"]), str(result["ts"])
        if message.attempts > 1:
            found = await self._find_posted(message, channel=channel, thread_ts=thread_ts)
            if found is not None:
                await asyncio.to_thread(self._record_delivered, message, channel, found)
                return
        who = str(message.payload.get("author") or "Prospect")
        text = str(message.payload.get("mrkdwn") or  # our own words (an SLA reminder), already escaped
                   f"💬 *{escape_mrkdwn(who)}*: {escape_mrkdwn(str(message.payload.get('text', '')))}")
        response = await self._post(message, channel=channel, text=text[:39000], blocks=None,
                                    thread_ts=thread_ts)
        await asyncio.to_thread(
            self._record_delivered, message, str(response["channel"]), str(response["ts"])
        )

    async def _deliver_escalation(self, message: DueMessage) -> None:
        """Post to another channel (e.g. managers) with a permalink to the lead's alert."""
        assert self._client is not None and self._channels is not None
        alert_id = message.payload.get("alert_outbox_id")
        alert = await asyncio.to_thread(self._alert_result, alert_id) if isinstance(alert_id, int) else None
        text = str(message.payload.get("mrkdwn", ""))
        if alert is not None and alert[0] == "pending":
            raise RetryLater("the alert is not posted yet", delay=self._policy.poll_interval)
        if alert is not None and alert[0] == "delivered":
            link = await self._client.chat_getPermalink(channel=str(alert[1]["channel"]),
                                                        message_ts=str(alert[1]["ts"]))
            text += f" <{link['permalink']}|Open the alert>"
        channel = await self._channels.resolve(self._channel_name(message.destination))
        if message.attempts > 1:
            found = await self._find_posted(message, channel=channel, thread_ts=None)
            if found is not None:
                await asyncio.to_thread(self._record_delivered, message, channel, found)
                return
        response = await self._post(message, channel=channel, text=text[:39000], blocks=None)
        await asyncio.to_thread(
            self._record_delivered, message, str(response["channel"]), str(response["ts"])
        )

    async def _update_alert(self, message: DueMessage) -> None:
        """Re-render a posted alert from the lead as it now is (chat.update is idempotent)."""
        assert self._client is not None
        alert_id = message.payload.get("alert_outbox_id")
        alert = await asyncio.to_thread(self._alert_result, alert_id) if isinstance(alert_id, int) else None
        if alert is None or alert[0] in ("failed", "cancelled"):
            await asyncio.to_thread(self._record_failed, message, "no alert to update")
            return
        status, result = alert
        if status != "delivered":
            raise RetryLater("the alert is not posted yet", delay=self._policy.poll_interval)
        content = await asyncio.to_thread(self._load_card_payload, message)
        if content is None:
            await asyncio.to_thread(self._record_failed, message, "lead erased before delivery")
            return
        channel, ts = str(result["channel"]), str(result["ts"])
        blocks, text = content
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code != 200 or exc.response.get("error") != "message_not_found":
                raise
            # A rep deleted the alert: there is nothing left to update.
            await asyncio.to_thread(self._record_failed, message, "slack: message_not_found")
            return
        await asyncio.to_thread(self._record_delivered, message, channel, ts)

    async def _erase_alert(self, message: DueMessage) -> None:
        """Blank the alert and delete what we posted in its thread (idempotent, so retries are safe)."""
        assert self._client is not None
        channel, ts = str(message.payload["channel"]), str(message.payload["ts"])
        await erase_alert(self._client, channel=channel, ts=ts)
        await asyncio.to_thread(self._record_delivered, message, channel, ts)

    async def _post(
        self, message: DueMessage, *, channel: str, text: str,
        blocks: list[dict[str, Any]] | None, thread_ts: str | None = None,
    ) -> Any:
        assert self._client is not None
        return await post_message(self._client, outbox_id=message.id, lead_id=message.lead_id,
                                  channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)

    async def _find_posted(self, message: DueMessage, *, channel: str, thread_ts: str | None) -> str | None:
        assert self._client is not None
        return await find_posted(self._client, outbox_id=message.id, since=message.created_at,
                                 channel=channel, thread_ts=thread_ts)


def backoff_delay(attempts: int, policy: DeliveryPolicy) -> float:
    """Exponential back-off with jitter: half fixed, half random, so workers spread out."""
    delay = min(policy.backoff_max, policy.backoff_base * (2.0 ** max(0, attempts - 1)))
    return float(delay / 2 + random.uniform(0, delay / 2))


def _retry_after_seconds(headers: Any) -> float:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return max(0.0, float(value))
    except (TypeError, ValueError, AttributeError):
        return 1.0


def _snapshot(row: OutboxMessage) -> DueMessage:
    return DueMessage(
        id=row.id, kind=row.kind, destination=row.destination, lead_id=row.lead_id,
        payload=dict(row.payload), attempts=row.attempts, created_at=row.created_at,
    )


def build_delivery_client(*, token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    """The delivery client: no built-in retries, the outbox owns them (durably)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

"""Delivering Slack outbox rows (alerts, their updates, thread messages): the Slack sender of the outbox worker.

Claiming, leases, back-off and recording are the outbox worker's
(`bot.outbox.worker`): it hands out only each destination's oldest pending row, so a
channel's alerts go out in order. This module turns a row into Slack Web API calls
(slack_sdk's `AsyncWebClient`; the calls themselves are in `bot.slack.posting`) and
Slack's answers into outcomes. Between a post and its record a crash would normally
cause a duplicate, so every post carries message metadata naming its outbox row and
a row claimed again (attempts > 1) is first looked for in the channel history/thread.

Errors: network errors and 5xx back off (the worker's policy, with jitter); 429 waits
for `Retry-After`; configuration errors (unknown channel, bad token) keep retrying at
the longest back-off so nothing is lost while someone fixes the setup; a message
Slack rejects as malformed fails for good (it would block its channel otherwise).
The lease must outlive the client's timeout, or a second worker could post while
the first one's request is still in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.dbgate import DatabaseGate
from bot.outbox.worker import Delivered, Failed, OutboxWorker, Outcome, RetryLater, WorkerPolicy
from bot.slack.alert import alert_blocks, alert_fallback_text, escape_mrkdwn
from bot.slack.card_source import EVENT_ALERT_POSTED, load_alert_card
from bot.slack.channels import ChannelNotFound, ChannelResolver
from bot.slack.posting import erase_alert, find_posted, post_message
from bot.slack.reroute import UNUSABLE_CHANNEL_ERRORS, Reroute, rerouted_blocks
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
from storage.outbox import ClaimedRow
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


# Without Slack configured, new alerts are announced in the log this often (seconds).
ANNOUNCE_EVERY = 5.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta = timedelta(seconds=60)
    backoff_base: float = 2.0  # seconds; doubled per attempt
    backoff_max: float = 300.0
    poll_interval: float = 0.5  # keeps alerts within ~2 s of the qualifying answer
    batch: int = 20

    def worker_policy(self) -> WorkerPolicy:
        # No attempt timeout beyond the client's own, and no giving up: a setup
        # problem (bad channel, token) is retried until someone fixes it.
        return WorkerPolicy(lease=self.lease, attempt_timeout=None, max_attempts=None,
                            first_backoff=self.backoff_base, max_backoff=self.backoff_max,
                            idle_poll=self.poll_interval, min_claim_interval=0.0,
                            max_in_flight=self.batch, claim_batch=self.batch)


Card = tuple[list[dict[str, Any]], str]  # blocks, fallback text


@dataclass(frozen=True, slots=True)
class SlackJob:
    """A claimed Slack row with what its delivery reads from the database."""

    id: int
    kind: str
    destination: str
    lead_id: int | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    card: Card | None = None  # alerts and updates; None when the lead was erased
    alert: tuple[str, dict[str, Any]] | None = None  # thread messages and updates: its alert


class SlackSender:
    """Posts alerts and thread messages, updates and erases alerts."""

    kinds = KINDS

    def __init__(
        self, *, client: AsyncWebClient, default_channel: str | None,
        script_provider: Callable[[], Script | None], policy: DeliveryPolicy,
    ) -> None:
        self._client = client
        self._channels = ChannelResolver(client)
        self._default_channel = default_channel
        self._script = script_provider
        self._policy = policy

    # --- in the claim transaction ----------------------------------------------------

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> SlackJob:
        script = self._script()
        payload = dict(row.payload)
        if row.kind == ALERT_KIND and "rep" not in payload:
            payload = self._assign_rep(uow, row, script, now)
        card: Card | None = None
        alert: tuple[str, dict[str, Any]] | None = None
        if row.kind == ERASE_KIND:
            if not isinstance(payload.get("channel"), str) or not isinstance(payload.get("ts"), str):
                raise ValueError("an erase row needs the alert's channel and ts")
        if row.kind in (THREAD_KIND, UPDATE_KIND, ESCALATION_KIND):
            alert_id = payload.get("alert_outbox_id")
            found = uow.outbox.get(alert_id) if isinstance(alert_id, int) else None
            alert = (found.status, dict(found.result or {})) if found is not None else None
        if row.kind in (ALERT_KIND, UPDATE_KIND) and row.lead_id is not None:
            rep = payload.get("rep")
            loaded = load_alert_card(uow, row.lead_id, script,
                                     rep_id=rep if isinstance(rep, str) else None)
            card = (alert_blocks(loaded), alert_fallback_text(loaded)) if loaded else None
        return SlackJob(id=row.id, kind=row.kind, destination=row.destination,
                        lead_id=row.lead_id, payload=payload, attempts=row.attempts,
                        created_at=row.created_at, card=card, alert=alert)

    @staticmethod
    def _assign_rep(
        uow: UnitOfWork, row: ClaimedRow, script: Script | None, now: datetime
    ) -> dict[str, Any]:
        """The alert's payload with its rep: chosen once per alert and stored on the row, so a
        retry mentions the same rep."""
        index = row.payload.get("route_index")
        route = route_of(script, index)
        if script is None or route is None or not route.reps or not isinstance(index, int):
            return dict(row.payload)
        rep = take_rep_turn(uow, key=rotation_key(script.id, index), reps=route.reps, now=now)
        payload = {**row.payload, "rep": rep}
        uow.outbox.set_payload(row.id, payload)
        return payload

    def on_delivered(self, uow: UnitOfWork, job: SlackJob, result: dict[str, Any], now: datetime) -> None:
        if job.kind == ALERT_KIND and job.lead_id is not None:
            channel, ts = str(result["channel"]), str(result["ts"])
            remember_alert_thread(uow, lead_id=job.lead_id, channel=channel, ts=ts, now=now)
            uow.events.add(lead_id=job.lead_id, type=EVENT_ALERT_POSTED,
                           payload={"channel": channel, "ts": ts, "outbox_id": job.id}, now=now)

    # --- on the event loop -------------------------------------------------------------

    async def send(self, job: SlackJob) -> Outcome:
        try:
            if job.kind == ALERT_KIND:
                return await self._deliver_alert(job)
            if job.kind == ERASE_KIND:
                return await self._erase_alert(job)
            if job.kind == UPDATE_KIND:
                return await self._update_alert(job)
            if job.kind == ESCALATION_KIND:
                return await self._deliver_escalation(job)
            return await self._deliver_thread_message(job)
        except SlackApiError as exc:
            return self._api_error(job, exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return RetryLater(f"network: {type(exc).__name__}: {exc}")
        except ChannelNotFound as exc:
            log.error("%s (outbox #%s)", exc, job.id)
            return RetryLater(str(exc), delay=self._policy.backoff_max)

    def _api_error(self, job: SlackJob, exc: SlackApiError) -> Outcome:
        # slack_sdk puts the raw aiohttp response here when a body was not valid JSON.
        response = exc.response
        status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429:
            return RetryLater("rate limited (429)",
                              delay=_retry_after_seconds(getattr(response, "headers", {})))
        if status >= 500:
            return RetryLater(f"Slack {status}")
        if error in PERMANENT_ERRORS:
            log.error("Slack rejected outbox #%s for good: %s", job.id, error)
            return Failed(f"slack: {error}")
        # invalid_auth, not_in_channel, channel_not_found…: a setup problem someone can fix.
        log.error("Slack refused outbox #%s: %s; will retry", job.id, error or status)
        return RetryLater(f"slack: {error or status}", delay=self._policy.backoff_max)

    def _channel_name(self, destination: str) -> str:
        if destination == DEFAULT_DESTINATION or not destination.startswith("slack:"):
            if not self._default_channel:
                raise ChannelNotFound("no Slack channel: set SLACK_CHANNEL or a routing channel")
            return self._default_channel
        return destination[len("slack:"):]

    async def _deliver_alert(self, job: SlackJob, reroute: Reroute | None = None) -> Outcome:
        meant = self._channel_name(DEFAULT_DESTINATION if reroute else job.destination)
        try:
            channel = await self._channels.resolve(meant)
        except ChannelNotFound:
            if reroute or not self._can_reroute(job, meant):
                raise
            return await self._deliver_alert(job, Reroute(meant, "channel_not_found"))
        if job.attempts > 1:
            found = await self._find_posted(job, channel=channel, thread_ts=None)
            if found is not None:
                log.info("outbox #%s was already posted (ts %s); not posting again", job.id, found)
                return Delivered({"channel": channel, "ts": found})
        if job.card is None:
            return Failed("lead erased before delivery")
        blocks, text = job.card
        if reroute is not None:
            log.warning("alert of lead #%s: %s", job.lead_id, reroute.note)
            blocks, text = rerouted_blocks(reroute, blocks, text)
        try:
            response = await self._post(job, channel=channel, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response.status_code == 200 else None
            unusable = error in UNUSABLE_CHANNEL_ERRORS and not reroute
            if unusable and self._can_reroute(job, meant):
                return await self._deliver_alert(job, Reroute(meant, str(error)))
            if error != "invalid_blocks":
                raise
            # A card Slack refuses must still reach sales: fall back to the plain text.
            log.error("Slack refused the alert blocks of outbox #%s; posting text only", job.id)
            response = await self._post(job, channel=channel, text=text, blocks=None)
        return Delivered({"channel": str(response["channel"]), "ts": str(response["ts"])})

    def _can_reroute(self, job: SlackJob, meant: str) -> bool:
        """A routed alert whose channel is unusable can go to a different default channel."""
        default = self._default_channel
        return job.destination != DEFAULT_DESTINATION and bool(default) and (
            str(default).lstrip("#").lower() != meant.lstrip("#").lower())

    def _posted_alert(self, job: SlackJob, missing: str) -> tuple[str, str] | Outcome:
        """The alert a thread message or update belongs to, as (channel, ts), or the outcome."""
        if job.alert is None or job.alert[0] in ("failed", "cancelled"):
            return Failed(missing)
        status, result = job.alert
        if status != "delivered":
            return RetryLater("the alert is not posted yet", delay=self._policy.poll_interval)
        return str(result["channel"]), str(result["ts"])

    async def _deliver_thread_message(self, job: SlackJob) -> Outcome:
        alert = self._posted_alert(job, "no alert thread to post into")
        if not isinstance(alert, tuple):
            return alert
        channel, thread_ts = alert
        if job.attempts > 1:
            found = await self._find_posted(job, channel=channel, thread_ts=thread_ts)
            if found is not None:
                return Delivered({"channel": channel, "ts": found})
        who = str(job.payload.get("author") or "Prospect")
        text = str(job.payload.get("mrkdwn") or  # our own words (an SLA reminder), already escaped
                   f"💬 *{escape_mrkdwn(who)}*: {escape_mrkdwn(str(job.payload.get('text', '')))}")
        response = await self._post(job, channel=channel, text=text[:39000], blocks=None,
                                    thread_ts=thread_ts)
        return Delivered({"channel": str(response["channel"]), "ts": str(response["ts"])})

    async def _deliver_escalation(self, job: SlackJob) -> Outcome:
        """Post in another channel (e.g. managers) with a permalink to the lead's alert."""
        text = str(job.payload.get("mrkdwn", ""))
        if job.alert is not None and job.alert[0] == "pending":
            return RetryLater("the alert is not posted yet", delay=self._policy.poll_interval)
        if job.alert is not None and job.alert[0] == "delivered":
            link = await self._client.chat_getPermalink(channel=str(job.alert[1]["channel"]),
                                                        message_ts=str(job.alert[1]["ts"]))
            text += f" <{link['permalink']}|Open the alert>"
        channel = await self._channels.resolve(self._channel_name(job.destination))
        if job.attempts > 1:
            found = await self._find_posted(job, channel=channel, thread_ts=None)
            if found is not None:
                return Delivered({"channel": channel, "ts": found})
        response = await self._post(job, channel=channel, text=text[:39000], blocks=None)
        return Delivered({"channel": str(response["channel"]), "ts": str(response["ts"])})

    async def _update_alert(self, job: SlackJob) -> Outcome:
        """Re-render a posted alert from the lead as it now is (chat.update is idempotent)."""
        alert = self._posted_alert(job, "no alert to update")
        if not isinstance(alert, tuple):
            return alert
        if job.card is None:
            return Failed("lead erased before delivery")
        channel, ts = alert
        blocks, text = job.card
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code != 200 or exc.response.get("error") != "message_not_found":
                raise
            # A rep deleted the alert: there is nothing left to update.
            return Failed("slack: message_not_found")
        return Delivered({"channel": channel, "ts": ts})

    async def _erase_alert(self, job: SlackJob) -> Outcome:
        """Blank the alert and delete what we posted in its thread (idempotent, so retries are safe)."""
        channel, ts = str(job.payload["channel"]), str(job.payload["ts"])
        await erase_alert(self._client, channel=channel, ts=ts)
        return Delivered({"channel": channel, "ts": ts})

    async def _post(
        self, job: SlackJob, *, channel: str, text: str,
        blocks: list[dict[str, Any]] | None, thread_ts: str | None = None,
    ) -> Any:
        return await post_message(self._client, outbox_id=job.id, lead_id=job.lead_id,
                                  channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)

    async def _find_posted(self, job: SlackJob, *, channel: str, thread_ts: str | None) -> str | None:
        return await find_posted(self._client, outbox_id=job.id, since=job.created_at,
                                 channel=channel, thread_ts=thread_ts)


class SlackDelivery:
    """The background outbox worker with the Slack sender (`client=None`: Slack not
    configured, its rows stay pending and are announced once in the log)."""

    def __init__(
        self, *, session_factory: sessionmaker[Session], client: AsyncWebClient | None,
        default_channel: str | None, script_provider: Callable[[], Script | None],
        policy: DeliveryPolicy = DeliveryPolicy(), clock: Callable[[], datetime] = utcnow,
        gate: DatabaseGate | None = None,
    ) -> None:
        self._sessions = session_factory

        def uow_factory() -> UnitOfWork:
            return UnitOfWork(session_factory)

        self._configured = client is not None
        senders = [SlackSender(client=client, default_channel=default_channel,
                               script_provider=script_provider, policy=policy)] if client else []
        self.worker = OutboxWorker(
            name="slack-delivery", db=gate or DatabaseGate.for_database(uow_factory),
            uow_factory=uow_factory, clock=clock, policy=policy.worker_policy(), senders=senders)
        # Without Slack: how often to look for new alerts to announce in the log, and
        # the newest row announced (only rows after it are read).
        self._announce_every = max(policy.poll_interval, ANNOUNCE_EVERY)
        self._announced_up_to = 0

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after committing an outbox row)."""
        self.worker.kick()

    async def run_forever(self, stop: asyncio.Event) -> None:
        if self._configured:
            await self.worker.run_forever(stop)
            return
        # Without Slack, other destinations registered on the worker still go out.
        worker = asyncio.create_task(self.worker.run_forever(stop)) if self.worker.kinds else None
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._announce_pending)
            except Exception:  # the database may be briefly unavailable
                log.exception("could not look for pending Slack rows")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._announce_every)
        if worker is not None:
            await worker

    async def deliver_due(self) -> int:
        """One pass: claim due rows and deliver them; returns how many were handled."""
        if not self._configured:
            await asyncio.to_thread(self._announce_pending)
        return await self.worker.deliver_due()

    def _announce_pending(self) -> None:
        """Say once in the log that each Slack row queued since the last look stays pending."""
        with UnitOfWork(self._sessions) as uow:
            for row in uow.outbox.pending(kinds=KINDS, after=self._announced_up_to):
                self._announced_up_to = max(self._announced_up_to, row.id)
                log.warning(
                    "Slack is not configured (SLACK_BOT_TOKEN): %s for lead #%s stays pending",
                    row.kind, row.lead_id,
                )


def _retry_after_seconds(headers: Any) -> float:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return max(0.0, float(value))
    except (TypeError, ValueError, AttributeError):
        return 1.0


def build_delivery_client(*, token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    """The delivery client: no built-in retries, the outbox owns them (durably)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

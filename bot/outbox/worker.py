"""The outbox worker: claim due rows, lease them, send each through its destination's sender, record.

Every destination (Telegram replies, Slack alerts, and whatever comes next) is
delivered by this one skeleton; what differs is a *sender*, which knows one
destination kind and nothing about claiming, leases, back-off or recording.

The loop: one transaction records the outcomes of finished sends and claims the
next due row of each idle destination (`OutboxRepository.claim_due`: only a
destination's oldest pending row, so its messages keep their order); each claimed
row's sender `prepare`s it in that same transaction (copies what it needs out of the
session); `send` then runs on the event loop, concurrently across destinations, and
returns an outcome — delivered, retry later, or failed for good. A row whose
`prepare` raises (a chat id that is not a number, a payload the renderer refuses)
cannot ever be sent: it is marked failed with the reason and the claim goes on with
the others, so one bad row never stops delivery. Back-off is one policy for all:
exponential from `first_backoff` up to `max_backoff`, half fixed and half random so
workers spread out; a sender may ask for an exact delay (a 429's `retry_after`).
Optionally a worker sends only while it holds a named lease (`exclusive_lease`):
Telegram's ~30 messages/s is per bot, so one process sends for it.

The hand-off: a transaction that queues rows for a destination may lease its head
for this process at once (`claim_destination`), and the row leaves as soon as that
transaction commits. Such a transaction also records the sends that finished since
the last one, so under steady traffic the loop has no transaction of its own to run:
it wakes to claim only when rows may be due (a kick, a retry falling due, the idle
poll, or a sent row with more queued behind it).

How to add a destination kind (outbound webhooks, a CRM, …):

1. Write a sender class satisfying :class:`Sender`: `kinds` (the outbox `kind`
   values it delivers), `prepare(uow, row, now)` (runs in the claim transaction:
   return an immutable job with everything `send` needs; raise to mark the row
   failed as unsendable), `async send(job)` returning :data:`Outcome` (map your
   client's errors: transient → `RetryLater()`, rate limits → `RetryLater(delay=…)`,
   refused for good → `Failed(reason)`; anything it raises is retried with back-off),
   and `on_delivered(uow, job, result, now)` for extra writes in the transaction
   that records the delivery (often nothing). A sender with nothing to send, whose
   work is those writes, derives from :class:`DeliveredInClaim`: its rows are
   delivered in the claim transaction itself, many per claim.
2. Register it: `worker.register(MySender(...))` before the worker starts. For the
   background worker (Slack, webhooks, CRM) add it to the list returned by
   `bot.outbox.destinations.background_senders`. Queue rows with
   `uow.outbox.add(kind=..., destination=..., payload=...)` in the transaction that
   decides them; the destination string orders delivery (one at a time per
   destination) and must not collide with another kind's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.dbgate import DatabaseGate
from bot.logging_faults import FaultLog
from bot.outbox.holders import holder_is_dead_here, process_holder
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


# --- what a sender returns --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Delivered:
    result: dict[str, Any]  # stored on the row (message id, Slack ts…)


@dataclass(frozen=True, slots=True)
class RetryLater:
    error: str = ""
    delay: float | None = None  # seconds; None: the worker's back-off for this attempt


@dataclass(frozen=True, slots=True)
class Failed:
    error: str  # why it can never be delivered (kept on the row)


Outcome = Delivered | RetryLater | Failed


class Sender(Protocol):
    """One destination kind: how to prepare a claimed row and send it."""

    @property
    def kinds(self) -> Sequence[str]: ...

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> Any:
        """In the claim transaction: an immutable job for `send`; raise if it can never be sent."""
        ...

    async def send(self, job: Any) -> Outcome: ...

    def on_delivered(self, uow: UnitOfWork, job: Any, result: dict[str, Any], now: datetime) -> None:
        """Extra writes in the transaction that records the delivery."""
        ...


class DeliveredInClaim:
    """Base of a sender whose work is its transaction, with nothing to send (fanning a
    lead event out to its destinations' rows): its rows are delivered in the transaction
    that claims them — `prepare`, then `on_delivered` and the row marked delivered, then
    the destination's next row — with no send task and no second transaction to record
    it. A claim delivers at most `claim_batch` of them, so it never holds the database
    long; if more are due, the loop claims again after `min_claim_interval`."""

    async def send(self, job: Any) -> Outcome:
        return Delivered({})


@dataclass(frozen=True, slots=True)
class WorkerPolicy:
    # A claimed row is invisible to other workers for `lease`; an attempt is cut off
    # well before that, so two processes never send the same row at once.
    lease: timedelta = timedelta(seconds=10)
    attempt_timeout: float | None = 7.0
    max_attempts: int | None = 12  # back-off retries before a row fails; None: for ever
    first_backoff: float = 0.5
    max_backoff: float = 300.0
    # Rows may be queued by other processes, which cannot wake this one: look this often.
    idle_poll: float = 0.25
    # With an exclusive lease: its holder renews it every `lease_renew_every` seconds;
    # if it dies, another process takes over within `sender_lease` + `lease_check_every`.
    sender_lease: timedelta = timedelta(seconds=15)
    lease_renew_every: float = 5.0
    lease_check_every: float = 2.0
    # Wake-ups arriving faster than this are coalesced into one claim: under load every
    # handled message wakes the worker, and a claim per message would compete with the
    # messages themselves for the database.
    min_claim_interval: float = 0.05
    # Sends in flight at most (claiming far ahead of the destination's pace only holds
    # leases), and rows per claim.
    max_in_flight: int = 60
    claim_batch: int = 50


def backoff_delay(attempts: int, policy: WorkerPolicy) -> float:
    """Exponential back-off with jitter: half fixed, half random, so workers spread out."""
    delay = min(policy.max_backoff, policy.first_backoff * (2.0 ** max(0, attempts - 1)))
    return float(delay / 2 + random.uniform(0, delay / 2))


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A leased row on its way out: `job` is what its sender's `prepare` returned."""

    row_id: int
    destination: str
    attempts: int
    sender: Sender
    job: Any


@dataclass(frozen=True, slots=True)
class _Recorded:
    job: ClaimedJob
    outcome: Delivered | Failed | None  # None: retry at `retry_at`
    retry_at: datetime | None = None
    error: str = ""


@dataclass(slots=True)
class _Claim:
    """What one claim transaction did."""

    jobs: list[ClaimedJob] = field(default_factory=list)  # to send
    settled: int = 0  # rows failed as unsendable or delivered in the claim
    sending: bool = False  # whether this process may send (the exclusive lease)
    # Rows delivered in the claim reached the batch, or queued rows of their own: claim
    # again soon.
    more: bool = False


class OutboxWorker:
    """Delivers the outbox rows of its senders' kinds; `kick()` it when new rows were committed."""

    def __init__(
        self, *, name: str, db: DatabaseGate, uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime], policy: WorkerPolicy = WorkerPolicy(),
        senders: Sequence[Sender] = (), exclusive_lease: str | None = None,
    ) -> None:
        self.name = name
        self._db = db
        self._uow_factory = uow_factory
        self._clock = clock
        self._policy = policy
        self._senders: dict[str, Sender] = {}
        for sender in senders:
            self.register(sender)
        self._exclusive = exclusive_lease
        self._kicked = asyncio.Event()
        # Whether rows may be waiting to be claimed (new rows, retries falling due, a
        # destination's next row): without it, a wake-up only records outcomes.
        self._due = True
        self._stopping = False
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        # Destinations in flight with more rows queued behind the one being sent.
        self._more: set[str] = set()
        # Outcomes of finished sends, not yet recorded. Whichever transaction comes first
        # records them: a message's (see `claim_destination`) or the loop's next claim.
        # Taken in database threads, appended on the loop: hence the lock.
        self._outcomes: list[_Recorded] = []
        self._outcomes_lock = threading.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self.holder = process_holder()
        self._claim_faults = FaultLog(f"{self.name}: claiming outbox rows", log)
        # Whether this process may send now (always, without an exclusive lease).
        self.sending = exclusive_lease is None

    def register(self, sender: Sender) -> None:
        """Deliver `sender.kinds` with this sender (before the worker starts)."""
        for kind in sender.kinds:
            if kind in self._senders:
                raise ValueError(f"outbox kind {kind!r} already has a sender")
            self._senders[kind] = sender

    @property
    def kinds(self) -> list[str]:
        return sorted(self._senders)

    def kick(self) -> None:
        """New rows may be due: claim soon."""
        self._due = True
        self._kicked.set()

    def start(self) -> None:
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish (they were already leased); record them."""
        self._stopping = True
        self._kicked.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace)
        try:
            await self._db.run(self._finish)
        except Exception:  # leases expire; the rows are retried by the next process
            log.exception("%s: could not record the last delivery outcomes", self.name)
        self.sending = self._exclusive is None

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then stop gracefully."""
        self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def deliver_due(self) -> int:
        """One pass: claim what is due, send it all, record; returns the rows handled."""
        if not self._senders:
            return 0
        claim = await self._db.run(
            self._claim, check_lease=self._exclusive is not None, limit=self._policy.claim_batch)
        self.sending = claim.sending
        recorded = await asyncio.gather(*(self._attempt(job) for job in claim.jobs))
        if recorded:
            await self._db.run(self._record_only, list(recorded))
        return len(claim.jobs) + claim.settled

    # --- in-process hand-off of a row just queued ------------------------------------

    def claim_destination(self, uow: UnitOfWork, destination: str, now: datetime) -> Any:
        """In the transaction that queued rows for `destination`: lease its head now, so
        it leaves without waiting for the next claim (pass the result to `launch` once
        committed). None when this process may not send, or the destination is busy —
        then the loop picks the row up.

        The outcomes of sends finished since the last transaction are recorded here too:
        under load, a message's transaction records the deliveries, and the loop has
        no transaction of its own to run. If this transaction does not commit, they
        are handed back to be recorded by the next one.
        """
        self._record_pending(uow, now)
        if not self.sending or self._stopping:
            return None
        if destination in self._in_flight:
            self._more.add(destination)
            return None
        row = uow.outbox.lease_head(destination=destination, kinds=self.kinds, now=now,
                                    lease=self._policy.lease)
        if row is None:
            return None
        if uow.outbox.queued.get(destination, 0) > 1:
            self._more.add(destination)  # claimed by the loop once this one is sent
        return self._prepare(uow, row, now)

    def launch(self, claimed: Any) -> None:
        """Send a row leased by `claim_destination` (its transaction has committed)."""
        if not isinstance(claimed, ClaimedJob):
            self.kick()
            return
        task = asyncio.create_task(self._deliver(claimed), name=f"deliver:{claimed.destination}")
        self._in_flight[claimed.destination] = task
        task.add_done_callback(functools.partial(self._finished, claimed.destination))

    # --- the loop -----------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        policy = self._policy
        last_claim = -policy.min_claim_interval
        lease_due = loop.time()  # when to renew the exclusive lease, or try to take it
        while not self._stopping:
            pause = last_claim + policy.min_claim_interval - loop.time()
            if pause > 0 and not self._outcomes:
                # Coalesce claims — but a finished send is recorded soon: until it is, a
                # crash would make the next process send that message again.
                await asyncio.sleep(pause)
            check_lease = self._exclusive is not None and loop.time() >= lease_due
            if not self._due and not check_lease and self._outcomes and self._db.busy:
                # Only outcomes to record, and a transaction is running or about to:
                # a message's transaction records them (see claim_destination). Look
                # again shortly, and record them here if they are still waiting.
                await asyncio.sleep(policy.min_claim_interval)
            last_claim = loop.time()
            self._kicked.clear()
            limit = min(policy.max_in_flight - len(self._in_flight), policy.claim_batch)
            # Whether to claim: `sending` may change with the lease check, inside `_claim`.
            claim = self._due and limit > 0
            jobs: list[ClaimedJob] = []
            if self._senders and (check_lease or (claim and self.sending) or self._outcomes):
                self._due = False  # a kick during the claim sets it again
                try:
                    claimed = await self._db.run(
                        self._claim, check_lease=check_lease, limit=limit if claim else 0)
                    jobs, self.sending = claimed.jobs, claimed.sending
                    self._claim_faults.succeeded()
                    if claim and (not self.sending or len(jobs) >= limit or claimed.more):
                        self._due = True  # not claimed, or more may be due
                    if claimed.more:
                        self._kicked.set()  # the next batch after the usual pause
                except Exception as exc:  # the database is down: keep the loop alive, retry
                    self._claim_faults.failed(exc)  # once, then a summary, then "recovered"
                    self._due = self._due or claim
                    if self._exclusive is not None:
                        self.sending, check_lease = False, True
                if check_lease:
                    lease_due = loop.time() + (policy.lease_renew_every if self.sending
                                               else policy.lease_check_every)
            for job in jobs:
                # How many rows wait behind it is unknown: claim again once it is sent.
                self._more.add(job.destination)
                self.launch(job)
            # Woken by new rows (kick), finished sends and retries falling due; the idle
            # poll picks up rows queued by other processes.
            wait = policy.idle_poll if self.sending else policy.lease_check_every
            if self._exclusive is not None:
                wait = min(wait, lease_due - loop.time())
            try:
                await asyncio.wait_for(self._kicked.wait(), timeout=max(0.0, wait))
            except TimeoutError:
                self._due = True  # rows queued by other processes cannot wake this one

    def _finished(self, destination: str, task: asyncio.Task[None]) -> None:
        # The destination's next row may already be in flight (claimed after this one's
        # outcome was taken, before this callback ran): only forget this task.
        if self._in_flight.get(destination) is task:
            del self._in_flight[destination]
        if destination in self._more:  # its next row waits for this one's outcome
            self._more.discard(destination)
            self._due = True
        self._kicked.set()  # record the outcome

    def _take_outcomes(self) -> list[_Recorded]:
        with self._outcomes_lock:
            outcomes, self._outcomes = self._outcomes, []
        return outcomes

    def _give_back(self, outcomes: list[_Recorded]) -> None:
        """Outcomes whose transaction failed: the next transaction records them."""
        with self._outcomes_lock:
            self._outcomes[:0] = outcomes

    async def _deliver(self, job: ClaimedJob) -> None:
        # Recorded by the next transaction (a message's or the loop's); until then the
        # destination's row is still leased, so nothing of that destination overtakes it.
        recorded = await self._attempt(job)
        with self._outcomes_lock:  # a database thread may be taking the list
            self._outcomes.append(recorded)

    async def _attempt(self, job: ClaimedJob) -> _Recorded:
        try:
            if self._policy.attempt_timeout is None:
                outcome = await job.sender.send(job.job)
            else:
                outcome = await asyncio.wait_for(job.sender.send(job.job),
                                                 timeout=self._policy.attempt_timeout)
        except TimeoutError:
            outcome = RetryLater("timed out")
        except Exception as exc:  # a bug must not kill the loop; the row is retried
            log.exception("%s: unexpected error delivering outbox #%s", self.name, job.row_id)
            outcome = RetryLater(f"{type(exc).__name__}: {exc}")
        if not isinstance(outcome, RetryLater):
            return _Recorded(job, outcome)
        delay = outcome.delay
        if delay is None:
            max_attempts = self._policy.max_attempts
            if max_attempts is not None and job.attempts >= max_attempts:
                log.error("%s: giving up on outbox #%s after %s attempts: %s",
                          self.name, job.row_id, job.attempts, outcome.error)
                return _Recorded(job, Failed(outcome.error))
            delay = backoff_delay(job.attempts, self._policy)
        log.info("%s: outbox #%s not delivered (%s); retrying in %.2f s",
                 self.name, job.row_id, outcome.error, delay)
        retry_at = self._clock() + timedelta(seconds=delay)
        asyncio.get_running_loop().call_later(delay, self.kick)
        return _Recorded(job, None, retry_at=retry_at, error=outcome.error)

    # --- database side (runs in a worker thread) -----------------------------------

    def _claim(self, *, check_lease: bool, limit: int) -> _Claim:
        """Record finished sends, renew (or try to take) the exclusive lease when due, and
        — allowed to send — lease the next due row of each idle destination; rows of
        senders `DeliveredInClaim` are delivered right here."""
        now = self._clock()
        claim = _Claim()
        with self._uow_factory() as uow:
            self._record_pending(uow, now)
            sending = self.sending
            if check_lease and self._exclusive is not None:
                sending = uow.leases.hold(self._exclusive, self.holder, now=now,
                                          ttl=self._policy.sender_lease) \
                    or self._take_over_dead_holder(uow, self._exclusive, now)
            claim.sending = sending
            if sending and limit > 0:
                self._claim_rows(uow, claim, limit, now)
            uow.commit()
        if check_lease and sending != self.sending:
            log.info("%s: %s sending", self.name, "now" if sending else "no longer")
        return claim

    def _claim_rows(self, uow: UnitOfWork, claim: _Claim, limit: int, now: datetime) -> None:
        kinds = self.kinds
        delivered_here = 0
        while True:
            rows = uow.outbox.claim_due(kinds=kinds, now=now, lease=self._policy.lease,
                                        limit=limit)
            here: list[ClaimedJob] = []
            for row in rows:
                job = self._prepare(uow, row, now)
                if job is None:
                    claim.settled += 1
                elif isinstance(job.sender, DeliveredInClaim):
                    here.append(job)
                else:
                    claim.jobs.append(job)
            self._record(uow, [_Recorded(job, Delivered({})) for job in here], now)
            claim.settled += len(here)
            delivered_here += len(here)
            if not here:
                # Rows those deliveries queued (a lead event's webhooks) are claimed soon.
                claim.more = claim.more or (delivered_here > 0 and bool(uow.outbox.queued))
                return
            if delivered_here >= self._policy.claim_batch:
                claim.more = True  # the loop claims again soon
                return
            # Each of those destinations has its next row as its head now.
            kinds = [kind for kind, sender in self._senders.items()
                     if isinstance(sender, DeliveredInClaim)]

    def _take_over_dead_holder(self, uow: UnitOfWork, lease: str, now: datetime) -> bool:
        """Take the lease at once from a holder that died on this host (see
        `bot.outbox.holders`); the rows it had leased are claimable again."""
        holder = uow.leases.holder(lease, now=now)
        if holder is None or not holder_is_dead_here(holder):
            return False
        if not uow.leases.take_over(lease, dead=holder, holder=self.holder, now=now,
                                    ttl=self._policy.sender_lease):
            return False
        released = uow.outbox.release_leases(kinds=self.kinds, now=now)
        log.warning("%s: took over from %s, which is no longer running (%s rows it had "
                    "leased are claimable again)", self.name, holder, released)
        return True

    def _prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> ClaimedJob | None:
        sender = self._senders[row.kind]
        try:
            prepared = sender.prepare(uow, row, now)
        except SQLAlchemyError:
            raise  # the database, not the row: the whole claim is retried
        except Exception as exc:  # this row can never be sent: fail it, go on with the others
            reason = f"unsendable: {type(exc).__name__}: {exc}"
            log.error("%s: outbox #%s (%s to %r) cannot be sent and is marked failed: %r",
                      self.name, row.id, row.kind, row.destination[:100], reason[:300])
            uow.outbox.mark_failed(row.id, error=reason)
            return None
        return ClaimedJob(row.id, row.destination, row.attempts, sender, prepared)

    def _record_only(self, outcomes: list[_Recorded]) -> None:
        with self._uow_factory() as uow:
            self._record(uow, outcomes, self._clock())
            uow.commit()

    def _finish(self) -> None:
        """On stop: record the last outcomes and hand the exclusive lease over at once."""
        with self._uow_factory() as uow:
            self._record_pending(uow, self._clock())
            if self._exclusive is not None:
                uow.leases.release(self._exclusive, self.holder)
            uow.commit()

    def _record_pending(self, uow: UnitOfWork, now: datetime) -> None:
        """Record the outcomes waiting (taken here, in the database thread, so that
        those arriving while this transaction waited for its turn are included)."""
        outcomes = self._take_outcomes()
        if outcomes:
            uow.if_rolled_back(functools.partial(self._give_back, outcomes))
            self._record(uow, outcomes, now)

    @staticmethod
    def _record(uow: UnitOfWork, outcomes: list[_Recorded], now: datetime) -> None:
        uow.outbox.mark_delivered_many([
            (recorded.job.row_id, recorded.outcome.result) for recorded in outcomes
            if isinstance(recorded.outcome, Delivered)
        ], now=now)
        for recorded in outcomes:
            job, outcome = recorded.job, recorded.outcome
            if isinstance(outcome, Delivered):
                job.sender.on_delivered(uow, job.job, outcome.result, now)
            elif isinstance(outcome, Failed):
                uow.outbox.mark_failed(job.row_id, error=outcome.error)
            elif recorded.retry_at is not None:
                uow.outbox.mark_retry(job.row_id, error=recorded.error, retry_at=recorded.retry_at)

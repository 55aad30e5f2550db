"""The background jobs every deployment needs: Slack delivery, reminders, follow-ups and speed-to-lead.

`leadbot worker` runs them alone, `leadbot run` next to long polling, and
`leadbot serve --jobs` inside a web process. Each job is safe to run in several
processes at once: deliveries claim outbox rows with a lease (a killed worker's
row is taken over when its lease runs out), and a nudge's message id names the lead
and its due time, so the service processes it once whichever worker gets there.
Telegram replies are delivered by the Telegram runtime's own loop (it is started
by the process runner, which owns the Telegram runtime).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass

from bot.service import LeadService
from bot.slack.delivery import SlackDelivery
from bot.telegram.delivery import TelegramDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobOptions:
    nudge_every: float = 5.0  # seconds between looks for due reminders / follow-ups
    stop_grace: float = 15.0  # how long in-flight deliveries may take to finish on stop


class BackgroundJobs:
    def __init__(
        self, *, service: LeadService, slack: SlackDelivery | None,
        telegram: TelegramDelivery | None = None, options: JobOptions | None = None,
    ) -> None:
        self._service = service
        self._slack = slack
        self.telegram = telegram  # kicked after nudges queue replies; may be set later
        self._options = options or JobOptions()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._stop.clear()
        if self._slack is not None:
            self._tasks.append(asyncio.create_task(self._slack.run_forever(self._stop),
                                                   name="slack-delivery"))
        self._tasks.append(asyncio.create_task(self._nudge_forever(), name="nudges"))
        self._tasks.append(asyncio.create_task(self._sla_forever(), name="speed-to-lead"))

    async def stop(self) -> None:
        """Stop taking new work; let what is in flight finish (up to the grace period)."""
        self._stop.set()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=self._options.stop_grace)
        for task in pending:  # its lease expires and another worker takes the row over
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _nudge_forever(self) -> None:
        while not self._stop.is_set():
            try:
                sent = await asyncio.to_thread(self._service.send_due_nudges)
            except Exception:  # the database may be briefly unavailable: try next round
                log.exception("sending due nudges failed")
                sent = 0
            if sent:
                log.info("sent %s reminder(s) / follow-up(s)", sent)
                if self.telegram is not None:
                    self.telegram.kick()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._options.nudge_every)

    async def _sla_forever(self) -> None:
        """Speed-to-lead reminders and escalations, scheduled in the database like nudges."""
        while not self._stop.is_set():
            try:
                taken = await asyncio.to_thread(self._service.take_due_sla_steps)
            except Exception:  # the database may be briefly unavailable: try next round
                log.exception("taking due speed-to-lead steps failed")
                taken = 0
            if taken and self._slack is not None:
                self._slack.wake()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._options.nudge_every)

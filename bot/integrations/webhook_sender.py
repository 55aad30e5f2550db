"""The outbox sender for outbound webhooks: POST the stored body, signed, to its endpoint.

2xx is delivered. 429 waits for `Retry-After`; any other answer and network errors
retry with the worker's back-off (receivers are often briefly down, and the event
must not be lost). A row whose endpoint was removed from the configuration fails
for good. Each endpoint is its own outbox destination, so its events go out in
order and a dead endpoint holds up only itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.integrations.fanout import WEBHOOK_KIND
from bot.integrations.webhook_config import WebhookEndpoint
from bot.integrations.webhook_http import post_signed, retry_after_seconds
from bot.outbox.worker import Delivered, Outcome, RetryLater
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class WebhookJob:
    url: str
    secret: str
    message_id: str
    body: str


class WebhookSender:
    kinds: Sequence[str] = (WEBHOOK_KIND,)

    def __init__(self, *, endpoints: Sequence[WebhookEndpoint], client: httpx.AsyncClient,
                 clock: Callable[[], datetime]) -> None:
        self._endpoints = {e.destination: e for e in endpoints}
        self._client = client
        self._clock = clock

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> WebhookJob:
        endpoint = self._endpoints.get(row.destination)
        if endpoint is None:
            raise LookupError("this webhook endpoint is no longer configured")
        return WebhookJob(url=endpoint.url, secret=endpoint.secret,
                          message_id=str(row.payload["message_id"]), body=str(row.payload["body"]))

    async def send(self, job: WebhookJob) -> Outcome:
        try:
            response = await post_signed(self._client, url=job.url, secret=job.secret,
                                         message_id=job.message_id, body=job.body, at=self._clock())
        except httpx.HTTPError as exc:
            return RetryLater(f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Delivered({"status": response.status_code})
        if response.status_code == 429:
            return RetryLater("HTTP 429", delay=retry_after_seconds(response.headers.get("retry-after")))
        return RetryLater(f"HTTP {response.status_code}")

    def on_delivered(self, uow: UnitOfWork, job: WebhookJob, result: dict[str, Any], now: datetime) -> None:
        return None

"""`GET /metrics`: what this process did, and what the shared database holds, as Prometheus text.

Two sources, on purpose:

* per-process counters (updates handled by outcome, handling latency): Prometheus
  scrapes every web process and sums them;
* database gauges sampled at scrape time (outbox depth and age of the oldest pending
  row per kind, Slack alerts delivered / failed, leads per stage): the same value
  from every process, so they stay right when workers come and go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, literal_column, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.web.prometheus import CONTENT_TYPE, Counter, GaugeFamily, Histogram, Labels, exposition
from storage.models import Lead, OutboxMessage
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ALERT_KIND = "slack_alert"
INTEGRATION_KINDS = ("webhook", "hubspot")  # bot.integrations.fanout's outbox kinds
# Webhook latency is dominated by one database transaction: sub-millisecond to
# a few hundred ms under contention; Telegram gives up after about 60 s.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class UpdateMetrics:
    """What this process did with Telegram updates (shared by webhook and polling)."""

    def __init__(self) -> None:
        self.handled = Counter(
            "leadbot_updates_handled_total",
            "Telegram updates handled by this process, by outcome (ok, failed, rejected).",
        )
        self.latency = Histogram(
            "leadbot_update_handling_seconds",
            "Time from receiving a Telegram update to its committed handling.",
            LATENCY_BUCKETS,
        )

    def observe(self, outcome: str, seconds: float | None = None) -> None:
        self.handled.inc(outcome=outcome)
        if seconds is not None:
            self.latency.observe(seconds)


def sample_database(uow: UnitOfWork, now: datetime) -> list[GaugeFamily]:
    """The shared gauges: one short read-only transaction."""
    session = uow.session
    depth: dict[Labels, float] = {}
    age: dict[Labels, float] = {}
    rows = session.execute(
        select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == literal_column("'pending'"))  # the partial index
        .group_by(OutboxMessage.kind)
    )
    for kind, count, oldest in rows:
        depth[(("kind", kind),)] = count
        age[(("kind", kind),)] = max(0.0, (now - _aware(oldest, now)).total_seconds())
    alerts: dict[Labels, float] = {(("status", s),): 0 for s in ("delivered", "failed", "pending")}
    failed: dict[Labels, float] = {}
    deliveries: dict[Labels, float] = {
        (("kind", kind), ("status", status)): 0.0
        for kind in INTEGRATION_KINDS for status in ("delivered", "failed", "pending")
    }
    failed_attempts: dict[Labels, float] = {(("kind", kind),): 0.0 for kind in INTEGRATION_KINDS}
    for kind, status, count, attempts in session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count(), func.sum(OutboxMessage.attempts))
        .group_by(OutboxMessage.kind, OutboxMessage.status)
    ):
        if kind == ALERT_KIND:
            alerts[(("status", status),)] = count
        if status == "failed":
            failed[(("kind", kind),)] = count
        if kind in INTEGRATION_KINDS:
            deliveries[(("kind", kind), ("status", status))] = count
            # every attempt but the one that succeeded failed (a 5xx, a timeout, a refused connection)
            failed_attempts[(("kind", kind),)] += float(attempts or 0) - (count if status == "delivered" else 0)
    stages: dict[Labels, float] = {
        (("stage", str(stage)),): float(count)
        for stage, count in session.execute(select(Lead.stage, func.count()).group_by(Lead.stage))
    }
    return [
        GaugeFamily("leadbot_outbox_pending", "Outbox rows waiting for delivery, by kind.", depth),
        GaugeFamily("leadbot_outbox_oldest_pending_age_seconds",
                    "Age of the oldest pending outbox row, by kind.", age),
        GaugeFamily("leadbot_outbox_failed",
                    "Outbox rows that failed for good (refused, or not sendable at all), by kind.",
                    failed),
        GaugeFamily("leadbot_slack_alerts", "Slack lead alerts by delivery status.", alerts),
        GaugeFamily("leadbot_leads", "Leads by lifecycle stage.", stages),
        GaugeFamily("leadbot_integration_deliveries",
                    "Outbound webhook and CRM messages by delivery status.", deliveries),
        GaugeFamily("leadbot_integration_failed_attempts",
                    "Delivery attempts to webhooks and the CRM that failed (retried or given up).",
                    failed_attempts),
    ]


def _aware(value: datetime, now: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)


def metrics_route(
    *, updates: UpdateMetrics, uow_factory: Callable[[], UnitOfWork],
    clock: Callable[[], datetime], timeout: float = 5.0,
) -> Route:
    scrape_errors = Counter("leadbot_metrics_database_errors_total",
                            "Scrapes whose database gauges could not be read.")
    scrape_seconds = Histogram("leadbot_metrics_database_seconds",
                               "Time to read the database gauges.", (0.01, 0.05, 0.25, 1.0, 5.0))

    def read() -> list[GaugeFamily]:
        with uow_factory() as uow:
            return sample_database(uow, clock())

    async def endpoint(_request: Request) -> Response:
        started = time.perf_counter()
        gauges: list[GaugeFamily] = []
        try:
            gauges = await asyncio.wait_for(asyncio.to_thread(read), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 — this process's counters are still worth serving
            scrape_errors.inc()
            log.warning("metrics: cannot read the database (%s)", type(exc).__name__)
        scrape_seconds.observe(time.perf_counter() - started)
        body = exposition([updates.handled, updates.latency, *gauges, scrape_errors,
                           scrape_seconds])
        return PlainTextResponse(body, media_type=CONTENT_TYPE)

    return Route("/metrics", endpoint, methods=["GET"])

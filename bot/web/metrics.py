"""`GET /metrics`: what this process did, and what the shared database holds, as Prometheus text.

Two sources, on purpose:

* per-process counters (updates handled by outcome, handling latency): Prometheus
  scrapes every web process and sums them;
* database gauges sampled at scrape time (outbox depth, age of the oldest pending
  row and failed rows per kind, Slack alerts delivered / failed, leads per stage):
  the same value from every process, so they stay right when workers come and go.

Metrics are `prometheus_client` objects in a registry each process builds for
itself (never the library's global default registry). The endpoint shows lead
counts, so it can require `Authorization: Bearer <LEADBOT_METRICS_TOKEN>`; without
a token it is open, and belongs on a private interface or behind the proxy.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, literal_column, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.api.auth import bearer_token
from storage.models import Lead, OutboxMessage
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ALERT_KIND = "slack_alert"
INTEGRATION_KINDS = ("webhook", "hubspot")  # bot.integrations.fanout's outbox kinds
# Webhook latency is dominated by one database transaction: sub-millisecond to
# a few hundred ms under contention; Telegram gives up after about 60 s.
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class UpdateMetrics:
    """What this process did (Telegram updates, scrapes), in this process's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.handled = Counter(
            "leadbot_updates_handled_total",
            "Telegram updates handled by this process, by outcome (ok, failed, rejected).",
            ["outcome"], registry=self.registry,
        )
        self._by_outcome: dict[str, Any] = {}  # the counter's child per outcome
        self.latency = Histogram(
            "leadbot_update_handling_seconds",
            "Time from receiving a Telegram update to its committed handling.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.scrape_errors = Counter("leadbot_metrics_database_errors_total",
                                     "Scrapes whose database gauges could not be read.",
                                     registry=self.registry)
        self.scrape_seconds = Histogram("leadbot_metrics_database_seconds",
                                        "Time to read the database gauges.",
                                        buckets=(0.01, 0.05, 0.25, 1.0, 5.0),
                                        registry=self.registry)

    def observe(self, outcome: str, seconds: float | None = None) -> None:
        counter = self._by_outcome.get(outcome)
        if counter is None:  # labels() takes a lock and builds a key: once per outcome
            counter = self._by_outcome[outcome] = self.handled.labels(outcome=outcome)
        counter.inc()
        if seconds is not None:
            self.latency.observe(seconds)


class _Sampled(Collector):
    """Families read at scrape time, served once."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def _gauge(name: str, help_text: str, label: str, samples: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=[label])
    for value_of_label, value in sorted(samples.items()):
        family.add_metric([value_of_label], value)
    return family


def sample_database(uow: UnitOfWork, now: datetime) -> list[GaugeMetricFamily]:
    """The shared gauges: one short read-only transaction."""
    session = uow.session
    depth: dict[str, float] = {}
    age: dict[str, float] = {}
    rows = session.execute(
        select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == literal_column("'pending'"))  # the partial index
        .group_by(OutboxMessage.kind)
    )
    for kind, count, oldest in rows:
        depth[str(kind)] = count
        age[str(kind)] = max(0.0, (now - _aware(oldest, now)).total_seconds())
    alerts: dict[str, float] = {s: 0 for s in ("delivered", "failed", "pending")}
    failed: dict[str, float] = {}
    deliveries = GaugeMetricFamily("leadbot_integration_deliveries",
                                   "Outbound webhook and CRM messages by delivery status.",
                                   labels=["kind", "status"])
    delivered: dict[tuple[str, str], float] = {
        (kind, status): 0.0
        for kind in INTEGRATION_KINDS for status in ("delivered", "failed", "pending")
    }
    failed_attempts: dict[str, float] = {kind: 0.0 for kind in INTEGRATION_KINDS}
    for kind, status, count, attempts in session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count(),
               func.sum(OutboxMessage.attempts))
        .group_by(OutboxMessage.kind, OutboxMessage.status)
    ):
        if kind == ALERT_KIND:
            alerts[str(status)] = count
        if status == "failed":
            failed[str(kind)] = count
        if kind in INTEGRATION_KINDS:
            delivered[(str(kind), str(status))] = count
            # every attempt but the one that succeeded failed (a 5xx, a timeout, a refusal)
            failed_attempts[str(kind)] += (
                float(attempts or 0) - (count if status == "delivered" else 0))
    for labels, value in sorted(delivered.items()):
        deliveries.add_metric(list(labels), value)
    stages: dict[str, float] = {
        str(stage): float(count)
        for stage, count in session.execute(select(Lead.stage, func.count()).group_by(Lead.stage))
    }
    return [
        _gauge("leadbot_outbox_pending", "Outbox rows waiting for delivery, by kind.", "kind",
               depth),
        _gauge("leadbot_outbox_oldest_pending_age_seconds",
               "Age of the oldest pending outbox row, by kind.", "kind", age),
        _gauge("leadbot_outbox_failed",
               "Outbox rows given up on (see each row's error), by kind.", "kind", failed),
        _gauge("leadbot_slack_alerts", "Slack lead alerts by delivery status.", "status", alerts),
        _gauge("leadbot_leads", "Leads by lifecycle stage.", "stage", stages),
        deliveries,
        _gauge("leadbot_integration_failed_attempts",
               "Delivery attempts to webhooks and the CRM that failed (retried or given up).",
               "kind", failed_attempts),
    ]


def _aware(value: datetime, now: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)


def metrics_route(
    *, updates: UpdateMetrics, uow_factory: Callable[[], UnitOfWork],
    clock: Callable[[], datetime], timeout: float = 5.0, token: str | None = None,
) -> Route:
    """GET /metrics; with `token`, only for `Authorization: Bearer <token>`."""

    def read() -> list[GaugeMetricFamily]:
        with uow_factory() as uow:
            return sample_database(uow, clock())

    async def endpoint(request: Request) -> Response:
        if token and not _authorized(request, token):
            return JSONResponse({"error": "unauthorized",
                                 "message": "send 'Authorization: Bearer <LEADBOT_METRICS_TOKEN>'"},
                                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        started = time.perf_counter()
        gauges: list[GaugeMetricFamily] = []
        try:
            gauges = await asyncio.wait_for(asyncio.to_thread(read), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 — this process's counters are still worth serving
            updates.scrape_errors.inc()
            log.warning("metrics: cannot read the database (%s)", type(exc).__name__)
        updates.scrape_seconds.observe(time.perf_counter() - started)
        sampled = CollectorRegistry()
        sampled.register(_Sampled(gauges))
        body = generate_latest(updates.registry) + generate_latest(sampled)
        return Response(body, media_type=CONTENT_TYPE)

    return Route("/metrics", endpoint, methods=["GET"])


def _authorized(request: Request, token: str) -> bool:
    given = bearer_token(request)
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), token.encode("utf-8"))

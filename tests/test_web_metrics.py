"""`GET /metrics` parses as Prometheus text and counts what happened.

The parser below follows the text exposition format (0.0.4) strictly: HELP/TYPE
lines, sample lines with escaped label values, cumulative histogram buckets whose
`+Inf` bucket equals `_count`. Any line outside the grammar fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.telegram_traffic import HOT, SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

SECRET = "metrics-secret"
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    rf"^(?P<name>{_NAME})(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})? "
    r"(?P<value>[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|Inf|NaN))(?: -?\d+)?$"
)
_HELP = re.compile(rf"^# HELP (?P<name>{_NAME}) .*$")
_TYPE = re.compile(rf"^# TYPE (?P<name>{_NAME}) (?P<kind>counter|gauge|histogram|summary|untyped)$")
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(body: str) -> dict[str, dict[str, Any]]:
    """{family: {"type": kind, "samples": [(name, labels, value)]}}; AssertionError if malformed."""
    assert body.endswith("\n"), "an exposition ends with a newline"
    families: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(body.splitlines(), 1):
        if line.startswith("# HELP "):
            assert _HELP.match(line), f"line {number}: bad HELP {line!r}"
            continue
        if line.startswith("# TYPE "):
            match = _TYPE.match(line)
            assert match, f"line {number}: bad TYPE {line!r}"
            assert match["name"] not in families, f"line {number}: family declared twice"
            families[match["name"]] = {"type": match["kind"], "samples": []}
            continue
        assert line and not line.startswith("#"), f"line {number}: unexpected {line!r}"
        match = _SAMPLE.match(line)
        assert match, f"line {number}: not a sample {line!r}"
        name = match["name"]
        suffixes = ("_bucket", "_sum", "_count")
        family = name if name in families else next(
            (f for f in families if families[f]["type"] == "histogram"
             and any(name == f + s for s in suffixes)), None)
        assert family is not None, f"line {number}: {name} has no TYPE line before it"
        labels = {k: v for k, v in _LABEL_PAIR.findall(match["labels"] or "")}
        value = float(match["value"].replace("Inf", "inf"))
        families[family]["samples"].append((name, labels, value))
    for name, family in families.items():
        if family["type"] == "histogram":
            buckets = [(lab["le"], v) for n, lab, v in family["samples"] if n == name + "_bucket"]
            values = [v for _, v in buckets]
            assert values == sorted(values), f"{name}: buckets must be cumulative"
            assert buckets[-1][0] == "+Inf", f"{name}: the last bucket must be +Inf"
            (count,) = [v for n, _, v in family["samples"] if n == name + "_count"]
            assert buckets[-1][1] == count, f"{name}: +Inf bucket must equal _count"
    return families


def value(families: dict[str, dict[str, Any]], family: str, name: str | None = None,
          **labels: str) -> float | None:
    for sample_name, sample_labels, sample_value in families[family]["samples"]:
        if sample_name == (name or family) and sample_labels == labels:
            return float(sample_value)
    return None


@pytest.fixture
def container(sqlite_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
                           telegram_api_base_url=fake_telegram.base_url,
                           telegram_webhook_secret=SECRET))
    yield built
    built.close()


async def test_metrics_parse_and_count_updates_leads_and_outbox(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        for update_id, text in enumerate(HOT, 1):
            response = await client.post("/telegram/webhook", json=text_update(update_id, 601, text),
                                         headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
        await client.post("/telegram/webhook", json=text_update(99, 601, "x"))  # no secret: 403
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = parse_prometheus(response.text)

    assert families["leadbot_updates_handled_total"]["type"] == "counter"
    assert value(families, "leadbot_updates_handled_total", outcome="ok") == len(HOT)
    assert value(families, "leadbot_updates_handled_total", outcome="rejected") == 1
    assert value(families, "leadbot_update_handling_seconds",
                 "leadbot_update_handling_seconds_count") == len(HOT)
    assert value(families, "leadbot_leads", stage="sql") == 1
    # Slack is not configured here: the lead's alert waits in the outbox.
    assert value(families, "leadbot_outbox_pending", kind="slack_alert") == 1
    age = value(families, "leadbot_outbox_oldest_pending_age_seconds", kind="slack_alert")
    assert age is not None and age >= 0
    assert value(families, "leadbot_slack_alerts", status="pending") == 1
    assert value(families, "leadbot_slack_alerts", status="delivered") == 0
    assert value(families, "leadbot_slack_alerts", status="failed") == 0


def test_label_values_are_escaped() -> None:
    registry = CollectorRegistry()
    counter = Counter("x_total", "X.", ["outcome"], registry=registry)
    counter.labels(outcome='a "quoted"\\ new\nline').inc()
    gauge = GaugeMetricFamily("y", "Y.", labels=["kind"])
    gauge.add_metric(["k"], 1.5)

    class Sampled:
        def collect(self) -> Any:
            return [gauge]

    registry.register(Sampled())  # type: ignore[arg-type]
    families = parse_prometheus(generate_latest(registry).decode())
    (sample,) = families["x_total"]["samples"]
    assert sample[1] == {"outcome": 'a \\"quoted\\"\\\\ new\\nline'}
    assert value(families, "y", kind="k") == 1.5


def test_a_registry_per_process() -> None:
    """Two apps in one process (tests, `run`) never share or collide on counters."""
    from bot.web.metrics import UpdateMetrics

    first, second = UpdateMetrics(), UpdateMetrics()
    first.observe("ok", 0.01)
    name, labels = "leadbot_updates_handled_total", {"outcome": "ok"}
    assert first.registry.get_sample_value(name, labels) == 1
    assert second.registry.get_sample_value(name, labels) is None


async def test_a_metrics_token_guards_the_endpoint(
    sqlite_url: str, fake_telegram: Any, serve_app: Any
) -> None:
    container = build(Settings(database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
                               telegram_api_base_url=fake_telegram.base_url,
                               telegram_webhook_secret=SECRET, leadbot_metrics_token="m-token"))
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
            refused = [await client.get("/metrics", headers=headers) for headers in (
                {}, {"Authorization": "Bearer wrong"}, {"Authorization": "m-token"})]
            allowed = await client.get("/metrics", headers={"Authorization": "Bearer m-token"})
    finally:
        container.close()
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert all("leadbot_leads" not in r.text for r in refused)
    assert allowed.status_code == 200
    assert "leadbot_leads" in parse_prometheus(allowed.text)

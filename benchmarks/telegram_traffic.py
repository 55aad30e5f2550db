"""Simulated Telegram webhook traffic: update payloads and prospects who answer in order.

Shared by `benchmarks/webhook_load.py` and the scale-out test. A prospect behaves
as Telegram delivers a chat: one update at a time, the next only after a 2xx for
the previous one; a failed request (refused connection, 5xx) is retried, possibly
against another web process, exactly as Telegram retries a webhook delivery.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from benchmarks.rawhttp import RawHttpError

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class PostClient(Protocol):
    """httpx.AsyncClient, or the benchmark's leaner RawHttpClient."""

    async def post(self, url: str, *, json: Any, headers: dict[str, str]) -> Any: ...

# Answer sets of the bundled script; the first two reach SQL (one Slack alert each).
HOT = ["/start spring-campaign", "we sell accounting software", "about 120", "50k", "asap",
       "Ada Lovelace", "Analytical Engines", "ada@example.com", "skip"]
HOT_FR = ["/start salon", "banque", "environ 300 salariés", "150 k€", "dans 2 mois",
          "Marie Curie", "Radium", "marie@example.fr", "+33 6 12 34 56 78"]
COLD = ["/start", "school", "just me", "2000 euros", "just looking"]
WARM = ["/start", "online store", "une vingtaine", "no idea yet", "next week"]
SCRIPTS = (HOT, HOT_FR, COLD, WARM)
SQL_SCRIPTS = (HOT, HOT_FR)


def text_update(update_id: int, chat_id: int, text: str, *, first_name: str = "Ada",
                language_code: str = "en") -> dict[str, Any]:
    """A private-chat text message as Telegram posts it to a webhook."""
    message: dict[str, Any] = {
        "message_id": update_id, "date": int(time.time()),
        "from": {"id": chat_id, "is_bot": False, "first_name": first_name,
                 "language_code": language_code},
        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
        "text": text,
    }
    command = re.match(r"/[A-Za-z0-9_]+", text)
    if command:
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
    return {"update_id": update_id, "message": message}


@dataclass
class Prospect:
    chat_id: int
    texts: Sequence[str]
    first_update_id: int

    def updates(self) -> list[dict[str, Any]]:
        language = "fr" if self.texts is HOT_FR else "en"
        return [text_update(self.first_update_id + i, self.chat_id, text, language_code=language)
                for i, text in enumerate(self.texts)]


def make_prospects(count: int, *, first_chat_id: int = 10_000, seed: int = 7) -> list[Prospect]:
    """`count` prospects with update_ids that interleave like live traffic."""
    rng = random.Random(seed)
    prospects = []
    next_update = 1
    for index in range(count):
        texts = SCRIPTS[index % len(SCRIPTS)] if index < len(SCRIPTS) else rng.choice(SCRIPTS)
        prospects.append(Prospect(first_chat_id + index, texts, next_update))
        next_update += len(texts)
    return prospects


@dataclass
class TrafficStats:
    latencies: list[float] = field(default_factory=list)  # seconds, successful posts only
    retries: int = 0
    duplicates_sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


async def deliver(
    client: PostClient, urls: Sequence[str], update: dict[str, Any], *, secret: str,
    stats: TrafficStats, rng: random.Random, give_up_after: float = 90.0,
    pace: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """POST one update until some web process answers 2xx (Telegram's retry behaviour).

    `pace` is awaited before each attempt, outside the measured time (offered-rate runs).
    """
    deadline = time.monotonic() + give_up_after
    delay = 0.05
    while True:
        if pace is not None:
            await pace()
        url = rng.choice(urls)
        started = time.perf_counter()
        try:
            response = await client.post(url, json=update, headers={SECRET_HEADER: secret})
            status = response.status_code
        except (httpx.HTTPError, RawHttpError):
            status = 0  # refused / reset: a killed process
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            stats.latencies.append(time.perf_counter() - started)
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"update {update['update_id']} never accepted (last {status})")
        stats.retries += 1
        await asyncio.sleep(delay)
        delay = min(1.0, delay * 2)


async def play(
    client: PostClient, urls: Callable[[], Sequence[str]], prospect: Prospect, *,
    secret: str, stats: TrafficStats, rng: random.Random, duplicate_rate: float = 0.0,
    think: tuple[float, float] = (0.0, 0.0), racing_rate: float = 0.0,
    pace: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """One chat: its updates in order, each after the previous one was accepted.

    With `duplicate_rate`, an accepted update is sometimes delivered again, to another
    process and concurrently with the next one (so it arrives out of order) — as when
    Telegram's request timed out on its side although we had committed it. With
    `racing_rate`, an update is sometimes posted to two processes at the same time.
    """
    echoes: list[asyncio.Task[None]] = []
    for update in prospect.updates():
        if racing_rate and rng.random() < racing_rate:
            stats.duplicates_sent += 1
            await asyncio.gather(
                deliver(client, urls(), update, secret=secret, stats=stats, rng=rng),
                deliver(client, urls(), update, secret=secret, stats=TrafficStats(), rng=rng))
        else:
            await deliver(client, urls(), update, secret=secret, stats=stats, rng=rng, pace=pace)
        if duplicate_rate and rng.random() < duplicate_rate:
            stats.duplicates_sent += 1
            echoes.append(asyncio.create_task(
                deliver(client, urls(), update, secret=secret, stats=TrafficStats(), rng=rng)))
        if think[1]:
            await asyncio.sleep(rng.uniform(*think))
    if echoes:
        await asyncio.gather(*echoes)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Pacer:
    """Let callers through at most `rate` times a second, evenly spaced (an offered load)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

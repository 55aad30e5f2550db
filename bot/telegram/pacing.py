"""Per-chat pacing: about one message a second to a chat, with small bursts.

The Bot API client (`bot.telegram.botapi`) enforces the global 30 msg/s and the
per-group limits, as PTB's AIORateLimiter does, but neither puts a per-chat throttle
on private chats; Telegram answers 429 past roughly one message a second per chat
(the Bot API FAQ, "My bot is hitting limits, how do I avoid this?"). A token bucket per chat keeps us under that while letting a greeting
+ question arrive together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PacingPolicy:
    per_second: float = 1.0
    burst: int = 3


class ChatPacer:
    """`await pacer.wait(chat_id)` before each send to that chat."""

    def __init__(self, policy: PacingPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # chat → (tokens, at)

    async def wait(self, chat_id: int) -> None:
        delay = self._reserve(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)

    def _reserve(self, chat_id: int) -> float:
        """Take a token now (possibly going into debt); returns how long to wait for it."""
        now = self._clock()
        rate, burst = self._policy.per_second, float(self._policy.burst)
        tokens, at = self._buckets.get(chat_id, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate) - 1.0
        self._buckets[chat_id] = (tokens, now)
        if len(self._buckets) > 10_000:
            self._forget_idle(now)
        return 0.0 if tokens >= 0 else -tokens / rate

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled completely carries no information.
        rate, burst = self._policy.per_second, float(self._policy.burst)
        for chat_id, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * rate >= burst:
                del self._buckets[chat_id]

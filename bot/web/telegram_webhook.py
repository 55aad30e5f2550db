"""`POST /telegram/webhook`: authenticate, bound, parse, hand to the Telegram runtime, answer.

Telegram sends one JSON `Update` per request with the secret given to setWebhook in
`X-Telegram-Bot-Api-Secret-Token`. The route answers 200 only once the service has
committed the update (answer, state, queued replies): a 200 tells Telegram to
forget the update, so it must never come before the commit. Anything that did not
commit gets a 503, Telegram delivers the update again (possibly to another
process), and the service ignores an update_id it has already committed — so a
retry is harmless. Requests without the right secret are refused with 403 before
the body is read: nothing is parsed, nothing is written.

503 means only "the database could not take it, try again". Everything a retry
cannot fix is a 4xx: a body that is not a Telegram update (bad JSON, too deep,
a field of the wrong type or out of Telegram's range: see
`bot.telegram.update_model`) is 400, a body slower than `BODY_READ_TIMEOUT` is
408, and an update whose handling failed for another reason is 422.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from bot.telegram.application import TelegramRuntime
from bot.telegram.update_model import InvalidUpdate, read_update_body
from bot.web.json_input import BadJson
from bot.web.metrics import UpdateMetrics
from storage.errors import database_unavailable
from storage.json_text import dump_bytes

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Telegram updates are a few KB; anything near this is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024
# A client that announces more bytes than it sends must not hold a request open forever.
BODY_READ_TIMEOUT = 10.0


_JSON = [(b"content-type", b"application/json")]


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, on bytes so non-ASCII input cannot raise."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


async def read_limited(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes whether or not Content-Length says so."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class TelegramWebhook:
    """The webhook as a plain ASGI app: one update in, one short answer out.

    Written against ASGI rather than Starlette's Request and Response: this runs for
    every message a prospect sends, and the objects cost more than what they do here.
    """

    def __init__(self, *, runtime: TelegramRuntime, secret: str, metrics: UpdateMetrics,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self._runtime = runtime
        self._secret = secret
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, answer = await self._answer(scope, receive)
        if answer is None:
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        body = dump_bytes(answer)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_JSON, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        """The status and the JSON to answer with (None: an empty body)."""
        started = time.perf_counter()
        metrics = self._metrics
        headers = dict(scope["headers"])  # lower-case names; the last of a repeated one
        given = headers.get(SECRET_HEADER.encode())
        if given is None or not secret_matches(given.decode("latin-1"), self._secret):
            metrics.observe("rejected")
            return 403, {"error": "forbidden"}
        try:
            async with asyncio.timeout(BODY_READ_TIMEOUT):  # no task of its own, as wait_for has
                body = await read_limited(receive, headers.get(b"content-length"),
                                          self._max_body_bytes)
        except _TooLarge:
            metrics.observe("rejected")
            return 413, {"error": "body too large"}
        except TimeoutError:
            metrics.observe("rejected")
            return 408, {"error": "request body timed out"}
        except _Disconnected:
            return 400, None
        try:
            update = read_update_body(body)
        except (BadJson, InvalidUpdate) as exc:
            metrics.observe("rejected")
            log.info("webhook body refused: %s", exc)
            return 400, {"error": "expected a JSON Telegram Update", "detail": str(exc)}
        committed, call = await self._runtime.process_webhook_update(update)
        seconds = time.perf_counter() - started
        if not committed:
            metrics.observe("failed", seconds)
            cause = self._runtime.failures.cause(update.update_id)
            if cause is None or database_unavailable(cause):
                return 503, {"error": "retry later"}
            # A retry would fail the same way: say so, rather than have Telegram retry.
            return 422, {"error": "update could not be processed"}
        metrics.observe("ok", seconds)
        # A call in the answer: Telegram makes this Bot API call as it reads it.
        return 200, call

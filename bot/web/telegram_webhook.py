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

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.telegram.application import TelegramRuntime
from bot.telegram.update_model import InvalidUpdate, check_update
from bot.web.json_input import BadJson, load_json, storable_strings
from bot.web.metrics import UpdateMetrics
from storage.errors import database_unavailable

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Telegram updates are a few KB; anything near this is not from Telegram.
MAX_BODY_BYTES = 1024 * 1024
# A client that announces more bytes than it sends must not hold a request open forever.
BODY_READ_TIMEOUT = 10.0


class _TooLarge(Exception):
    pass


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, on bytes so non-ASCII input cannot raise."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes whether or not Content-Length says so."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_route(
    *, runtime: TelegramRuntime, secret: str, metrics: UpdateMetrics,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Route:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            metrics.observe("rejected")
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            body = await asyncio.wait_for(read_limited(request, max_body_bytes),
                                          BODY_READ_TIMEOUT)
        except _TooLarge:
            metrics.observe("rejected")
            return JSONResponse({"error": "body too large"}, status_code=413)
        except TimeoutError:
            metrics.observe("rejected")
            return JSONResponse({"error": "request body timed out"}, status_code=408)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            update = _parse(body, runtime)
        except (BadJson, InvalidUpdate) as exc:
            metrics.observe("rejected")
            log.info("webhook body refused: %s", exc)
            return JSONResponse({"error": "expected a JSON Telegram Update", "detail": str(exc)},
                                status_code=400)
        committed, call = await runtime.process_webhook_update(update)
        seconds = time.perf_counter() - started
        if not committed:
            metrics.observe("failed", seconds)
            cause = runtime.failures.cause(update.update_id)
            if cause is None or database_unavailable(cause):
                return JSONResponse({"error": "retry later"}, status_code=503)
            # A retry would fail the same way: say so, rather than have Telegram retry.
            return JSONResponse({"error": "update could not be processed"}, status_code=422)
        metrics.observe("ok", seconds)
        if call is not None:  # Telegram makes this Bot API call as it reads the answer
            return JSONResponse(call)
        return Response(status_code=200)

    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])


def _parse(body: bytes, runtime: TelegramRuntime) -> Update:
    """The update, or BadJson / InvalidUpdate saying what is wrong with the body."""
    data: Any = storable_strings(load_json(body))
    check_update(data)
    try:
        # The bot is passed so that PTB shortcuts (reply_text, get_bot) work on the objects.
        return Update.de_json(data, runtime.application.bot)
    except Exception as exc:  # a structure PTB cannot build: not a genuine Update
        raise InvalidUpdate(f"not a Telegram Update ({type(exc).__name__})") from None

"""A lean Bot API client for the outbox's calls: a JSON body out, the JSON answer's `result` back.

The outbox sends a few hundred replies a second at peak, and reads one field of the
answer (a `message_id`). Going through python-telegram-bot's `Bot` for that cost
about three times the CPU of the HTTP call itself: PTB's request layers, its rate
limiter wrapper, a form-encoded body built field by field. Here a call is one
JSON encoding (orjson), one aiohttp request on a shared keep-alive session, one decoding.

What callers rely on is kept: Telegram's refusals are PTB's exception classes,
chosen as PTB's `BaseRequest` chooses them (see `error_for`), timeouts are
`TimedOut` and connection failures `NetworkError`; the calls keep Telegram's
overall pace (`overall_per_second`) and its limit per group chat, as PTB's
`AIORateLimiter` did for them. A 429 is raised, never retried here: the outbox
reschedules the row, so a long `retry_after` holds no lease.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager, nullcontext
from http import HTTPStatus
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from yarl import URL

from storage.json_text import dump_bytes, loads

# Telegram's limit for one group chat: about 20 messages a minute.
_GROUP_PER_MINUTE = 20
_MAX_GROUP_LIMITERS = 512


class BotApiClient:
    """Bot API calls over one aiohttp session: opened by `start()` (or the first call, for a
    process that only sends), closed by `close()`."""

    def __init__(
        self, *, token: str, base_url: str = "https://api.telegram.org/bot", timeout: float = 5.0,
        overall_per_second: float = 30, connection_limit: int = 64,
    ) -> None:
        self._endpoint = endpoint_url(base_url, token)
        self._urls: dict[str, URL] = {}
        # As the PTB backend bounded a call: each phase by `timeout`, the whole by their sum.
        self._timeout = aiohttp.ClientTimeout(total=4 * timeout, connect=timeout,
                                              sock_connect=timeout, sock_read=timeout)
        self._connection_limit = connection_limit
        self._overall = AsyncLimiter(overall_per_second, 1)
        self._groups: dict[int, AsyncLimiter] = {}
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=self._timeout,
                # Every call sends JSON: set once here, a request passes no headers of its own
                # (aiohttp's cheapest path; per-call headers or skip lists cost more than they save).
                headers={"User-Agent": f"Leadbot (aiohttp {aiohttp.__version__})",
                         "Content-Type": "application/json", "Accept": "application/json"})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Call `method` with `params` (JSON-serialisable values); returns the answer's `result`.

        Paced by the overall limit, and by the per-group limit for a group's chat_id."""
        async with self._group_limiter(params.get("chat_id")), self._overall:
            return await self._post(method, params)

    async def long_poll(self, params: dict[str, Any], wait: float) -> Any:
        """getUpdates with `params`, Telegram holding the answer up to `wait` seconds; the
        updates as JSON. Not paced: receiving is not sending."""
        read = self._timeout.sock_read or 0.0
        return await self._post("getUpdates", params, timeout=aiohttp.ClientTimeout(
            total=None, connect=self._timeout.connect, sock_connect=self._timeout.sock_connect,
            sock_read=wait + read))

    async def _post(
        self, method: str, params: dict[str, Any], timeout: aiohttp.ClientTimeout | None = None
    ) -> Any:
        if self._session is None or self._session.closed:
            await self.start()
        session = self._session
        assert session is not None
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = URL(f"{self._endpoint}/{method}")
        body = dump_bytes(params)
        try:
            if timeout is None:  # aiohttp's cheapest path: the session's own timeout
                request = session.post(url, data=body)
            else:
                request = session.post(url, data=body, timeout=timeout)
            async with request as response:
                status, payload = response.status, await response.read()
        except TimeoutError as err:  # connect, pool or read (an OSError: caught first)
            raise TimedOut from err
        except (aiohttp.ClientError, OSError) as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        if 200 <= status <= 299:
            try:
                return loads(payload)["result"]
            except (ValueError, TypeError, KeyError) as err:
                raise TelegramError("Invalid server response") from err
        raise error_for(status, payload)

    def _group_limiter(self, chat_id: Any) -> AbstractAsyncContextManager[Any]:
        """Telegram's per-group limit, for chats with a negative id (groups and channels)."""
        if not isinstance(chat_id, int) or chat_id >= 0:
            return nullcontext()
        limiter = self._groups.get(chat_id)
        if limiter is None:
            if len(self._groups) >= _MAX_GROUP_LIMITERS:
                # A limiter with all its capacity back remembers nothing worth keeping.
                for key in [k for k, v in self._groups.items() if v.has_capacity(v.max_rate)]:
                    del self._groups[key]
            limiter = self._groups[chat_id] = AsyncLimiter(_GROUP_PER_MINUTE, 60)
        return limiter


def endpoint_url(base_url: str, token: str) -> str:
    """The bot's endpoint, as PTB builds it: `{token}` filled in, or the token appended."""
    if "{token}" in base_url or "{TOKEN}" in base_url:
        return base_url.replace("{token}", token).replace("{TOKEN}", token)
    return base_url + token


def error_for(status: int, payload: bytes) -> TelegramError:
    """The exception PTB's `BaseRequest` raises for an answer with a non-2xx status."""
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    cause: Exception | None = None
    try:
        answer = json.loads(payload.decode("utf-8", "replace"))
    except ValueError as err:
        answer, cause = None, err
    if not isinstance(answer, dict):
        message += f". Parsing the server response {payload!r} failed"
    else:
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if parameters and isinstance(parameters, dict):
            if parameters.get("migrate_to_chat_id"):
                return ChatMigrated(parameters["migrate_to_chat_id"])
            if parameters.get("retry_after"):
                return RetryAfter(parameters["retry_after"])
            message += f". The server response contained unknown parameters: {parameters}"
    error: TelegramError
    if status == HTTPStatus.FORBIDDEN:
        error = Forbidden(message)
    elif status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        error = InvalidToken(message)
    elif status == HTTPStatus.BAD_REQUEST:
        error = BadRequest(message)
    elif status == HTTPStatus.CONFLICT:
        error = Conflict(message)
    else:  # 5xx and anything unexpected: worth another try
        error = NetworkError(message)
    error.__cause__ = cause
    return error

"""python-telegram-bot's network backend on aiohttp: PTB's own Bot API calls leave through one aiohttp session.

PTB's default backend (`HTTPXRequest`) costs about 1–2 ms of CPU per call once a few
dozen replies are in flight at once — httpcore's connection pool re-examines every
connection for every request — against about 0.2 ms for aiohttp on the same calls
(measured side by side with `benchmarks/reply_path.py`). aiohttp is already here
as slack_sdk's transport. PTB documents `BaseRequest` as the place for a custom
backend: everything above it (the methods, the rate limiter, mapping a 429 to
`RetryAfter`, 403 to `Forbidden`…) is PTB's and unchanged. This carries the calls PTB
makes at start (getMe, the command menu, the webhook); everything on the message path
(replies, getUpdates, answers to taps and to group chats) takes the leaner
`bot.telegram.botapi`.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """Bot API requests over one keep-alive aiohttp session (created by `initialize`)."""

    def __init__(
        self, *, connection_limit: int = 64, connect_timeout: float = 5.0,
        read_timeout: float = 5.0, write_timeout: float = 5.0, pool_timeout: float = 1.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self._limit = connection_limit
        self._connect = connect_timeout
        self._read = read_timeout
        self._write = write_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and \
            request_data.contains_files else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = (self._media_write if files else self._write) \
            if isinstance(write_timeout, DefaultValue) else write_timeout
        # aiohttp has no separate write timeout: the whole call is bounded by all of them.
        total = None if None in (read, write, connect, pool) else \
            float(read or 0) + float(write or 0) + float(connect or 0) + float(pool or 0)
        timeout = aiohttp.ClientTimeout(total=total, connect=pool, sock_connect=connect,
                                        sock_read=read)
        # Form-encoded, each value JSON-encoded, as PTB's own backend sends them.
        body: aiohttp.FormData | dict[str, str] | None = None
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, upload in files.items():
                if isinstance(upload, tuple):
                    filename, content, *rest = upload
                    form.add_field(name, content, filename=filename,
                                   content_type=rest[0] if rest else None)
                else:
                    form.add_field(name, upload)
            body = form
        elif request_data is not None:
            body = request_data.json_parameters
        try:
            async with self._session.request(method, url, data=body,
                                              timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts (connect, read, pool)
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err

"""A minimal keep-alive HTTP/1.1 client for the load generator.

The load generator shares the machine's two cores with the server it measures;
httpx spends several times more CPU per request than the server's own HTTP
layer, so a benchmark driven by it mostly measures httpx. This client only does
what the benchmark needs — POST a JSON body, read the status and body back — on
pooled asyncio streams, and answers `post(url, json=..., headers=...)` with an
object that has `status_code`, like httpx, so the traffic code works with both.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class RawResponse:
    status_code: int
    body: bytes


class RawHttpError(Exception):
    """The connection failed or the answer was not HTTP (a killed process)."""


class RawHttpClient:
    def __init__(self, *, max_connections: int = 40, timeout: float = 30.0) -> None:
        self._idle: dict[tuple[str, int], list[Stream]] = {}
        self._slots = asyncio.Semaphore(max_connections)
        self._timeout = timeout

    async def __aenter__(self) -> RawHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for streams in self._idle.values():
            for _, writer in streams:
                writer.close()
        self._idle.clear()

    async def post(self, url: str, *, json: Any, headers: dict[str, str]) -> RawResponse:  # noqa: A002
        parts = urlsplit(url)
        origin = (parts.hostname or "127.0.0.1", parts.port or 80)
        body = _dumps(json)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {origin[0]}:{origin[1]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{head}\r\n"
        ).encode() + body
        async with self._slots:
            stream = await self._connection(origin)
            try:
                response = await asyncio.wait_for(self._exchange(stream, request), self._timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
                stream[1].close()
                raise RawHttpError(str(exc)) from exc
            self._idle.setdefault(origin, []).append(stream)
            return response

    async def _connection(self, origin: tuple[str, int]) -> Stream:
        idle = self._idle.get(origin)
        if idle:
            return idle.pop()
        try:
            return await asyncio.open_connection(*origin)
        except OSError as exc:
            raise RawHttpError(str(exc)) from exc

    @staticmethod
    async def _exchange(stream: Stream, request: bytes) -> RawResponse:
        reader, writer = stream
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return RawResponse(status, await reader.readexactly(length) if length else b"")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

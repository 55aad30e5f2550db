"""Reading a request body without ever holding more than a fixed number of bytes."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    pass


class BadContentLength(Exception):
    pass


async def read_bounded_body(request: Request, *, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it is known to exceed `limit` bytes.

    Content-Length is checked first (nothing read); a chunked body is counted as it
    streams, so a client that lies or omits the header is cut off all the same.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise BadContentLength(declared)
        if int(declared) > limit:
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)

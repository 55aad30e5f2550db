"""The API's JSON error shape: `{"error": <code>, "message": <what to fix>, ...}`."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


def api_error(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """A 4xx/5xx answer whose `code` a program can test and whose `message` a person can act on."""
    return JSONResponse(
        {"error": code, "message": message, **extra}, status_code=status, headers=headers
    )

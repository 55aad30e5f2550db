"""Bearer API-key checks for `/api/*`: constant-time comparison, clear refusals.

The key is `LEADBOT_API_KEY`; without it the API is switched off (503) rather than
open, so a forgotten setting never exposes lead scoring to the internet.
"""

from __future__ import annotations

import hmac

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.api.responses import api_error


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def refuse_unless_authorized(request: Request, api_key: SecretStr | None) -> JSONResponse | None:
    """None when the request carries the API key; else the 503 or 401 response to send."""
    if api_key is None or not api_key.get_secret_value():
        return api_error(
            503, "api_disabled",
            "the events API is disabled: set LEADBOT_API_KEY on the server to enable it",
        )
    token = bearer_token(request)
    # compare_digest on bytes: timing does not reveal how much of a guess was right.
    if token is None or not hmac.compare_digest(
        token.encode("utf-8"), api_key.get_secret_value().encode("utf-8")
    ):
        return api_error(
            401, "unauthorized",
            "missing or wrong API key: send the header 'Authorization: Bearer <LEADBOT_API_KEY>'",
            headers={"WWW-Authenticate": 'Bearer realm="leadbot"'},
        )
    return None

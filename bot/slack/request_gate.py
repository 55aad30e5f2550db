"""The door of `/slack/events`: a bounded body, a verified signature, a well-formed payload — in that order.

Bolt parses a request (JSON, form fields, the `payload=` JSON) before it checks the
signature, so an unsigned body could raise in the parser, and it reads the whole
body whatever its size. Here nothing is parsed before the signature is verified:

1. the body is read up to `MAX_BODY_BYTES` (413 beyond), within `BODY_READ_TIMEOUT`
   (408 for a body shorter than its Content-Length);
2. the `X-Slack-Request-Timestamp` must be a number of seconds within five minutes
   of now and `X-Slack-Signature` must match (slack_sdk's SignatureVerifier): else
   401, with nothing parsed and nothing logged but the refusal itself;
3. the signed body must parse the way Bolt will parse it (UTF-8; JSON, or form
   fields whose `payload` is JSON), not nested beyond `bot.web.json_input.MAX_DEPTH`:
   else 400.

Only then is the request handed to Bolt. Request bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from bot.api.body import BadContentLength, BodyTooLarge, read_bounded_body
from bot.web.json_input import BadJson, load_json

log = logging.getLogger(__name__)

# Interactive payloads carry the whole message (up to 50 blocks): far below this.
MAX_BODY_BYTES = 1024 * 1024
BODY_READ_TIMEOUT = 10.0
_MAX_TIMESTAMP_DIGITS = 12


class BadSlackBody(ValueError):
    """A signed body Bolt could not parse; the message says why."""


def check_slack_body(text: str, content_type: str | None) -> None:
    """Nothing when Bolt can parse `text`; BadSlackBody otherwise (same rules as Bolt's parser)."""
    if not text:
        return
    try:
        if content_type == "application/json" or text.startswith("{"):
            parsed: Any = load_json(text.encode("utf-8"))
            if not isinstance(parsed, dict):
                raise BadSlackBody("the JSON body is not an object")
            return
        if "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            if payload is not None and not isinstance(load_json(payload.encode("utf-8")), dict):
                raise BadSlackBody("the payload field is not a JSON object")
    except BadJson as exc:
        raise BadSlackBody(str(exc)) from None
    except UnicodeEncodeError:  # a lone surrogate in form-decoded text
        raise BadSlackBody("the body holds unencodable text") from None


def signature_valid(verifier: SignatureVerifier, body: bytes, timestamp: str | None,
                    signature: str | None) -> bool:
    """Slack's v0 signature over the exact bytes received, with a numeric, recent timestamp."""
    if timestamp is None or signature is None:
        return False
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return False
    try:
        return verifier.is_valid(body=body.decode("utf-8"), timestamp=timestamp,
                                 signature=signature)
    except UnicodeDecodeError:  # Slack signs UTF-8 text; these bytes are not from Slack
        return False


class SlackRequestGate:
    """The Starlette endpoint of `/slack/events`: checks, then Bolt."""

    def __init__(self, bolt_app: AsyncApp, *, signing_secret: str) -> None:
        self._bolt = bolt_app
        self._verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: Request) -> Response:
        try:
            body = await asyncio.wait_for(read_bounded_body(request, limit=MAX_BODY_BYTES),
                                          BODY_READ_TIMEOUT)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large"}, status_code=413)
        except BadContentLength:
            return JSONResponse({"error": "bad Content-Length"}, status_code=400)
        except TimeoutError:
            return JSONResponse({"error": "request body timed out"}, status_code=408)
        except ClientDisconnect:
            return Response(status_code=400)
        if not signature_valid(self._verifier, body,
                               request.headers.get("x-slack-request-timestamp"),
                               request.headers.get("x-slack-signature")):
            log.info("Slack request refused: missing or invalid signature")
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            check_slack_body(body.decode("utf-8"), request.headers.get("content-type"))
        except BadSlackBody as exc:
            log.warning("signed Slack request refused: %s", exc)
            return JSONResponse({"error": "malformed body"}, status_code=400)
        bolt_response = await self._bolt.async_dispatch(to_async_bolt_request(request, body))
        return to_starlette_response(bolt_response)

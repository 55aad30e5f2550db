"""`POST /api/events`: outside engagement signals (webinar, download, email open, booking) for a lead.

A thin adapter: authenticate, read a bounded body, validate it, then hand the
signal to `LeadService.record_signal` — the same path a chat message takes, so a
signal that qualifies a lead alerts Slack exactly like a qualifying answer. Every
refusal happens before that call, so a 4xx changes nothing.

    curl -X POST http://localhost:8080/api/events \\
      -H "Authorization: Bearer $LEADBOT_API_KEY" -H "Content-Type: application/json" \\
      -d '{"lead": {"email": "ada@example.com"}, "event": "webinar_registration", "id": "evt-42"}'
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.api.auth import refuse_unless_authorized
from bot.api.body import BadContentLength, BodyTooLarge, read_bounded_body
from bot.api.event_request import InvalidEventRequest, parse_event_request
from bot.api.idempotency import IdempotencyKeyReused
from bot.api.recording import record_event
from bot.api.responses import api_error
from bot.logging_faults import FaultLog
from bot.service import LeadService
from bot.settings import Settings
from storage.errors import database_unavailable
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/events"
MAX_BODY_BYTES = 16 * 1024  # an event is a few hundred bytes; anything near this is abuse
BODY_READ_TIMEOUT = 10.0  # a body shorter than its Content-Length must not hold the request


def _utc_now() -> datetime:
    return datetime.now(UTC)


def api_routes(
    *, service: LeadService, uow_factory: Callable[[], UnitOfWork], settings: Settings,
    clock: Callable[[], datetime] = _utc_now,
) -> list[Route]:
    """The API's routes, to mount in `leadbot serve` (or any Starlette app)."""
    faults = FaultLog("events API", log)

    async def post_event(request: Request) -> Response:
        refusal = refuse_unless_authorized(request, settings.leadbot_api_key)
        if refusal is not None:
            return refusal
        try:
            body = await asyncio.wait_for(read_bounded_body(request, limit=MAX_BODY_BYTES),
                                          BODY_READ_TIMEOUT)
        except TimeoutError:
            return api_error(408, "request_timeout",
                             "the body did not arrive in time (shorter than its Content-Length?)")
        except BodyTooLarge:
            return api_error(413, "body_too_large",
                             f"the body is larger than {MAX_BODY_BYTES} bytes; send one event per request")
        except BadContentLength as exc:
            return api_error(400, "invalid_request", f"Content-Length {str(exc)!r} is not a number")
        try:
            event = parse_event_request(body)
        except InvalidEventRequest as exc:
            return api_error(400, "invalid_request", str(exc))
        known = [action.id for action in service.script.script.engagement.actions]
        if event.event not in known:
            return _unknown_event(event.event, known)
        work = partial(record_event, event, service=service, uow_factory=uow_factory, now=clock)
        try:
            # The service is synchronous (SQLAlchemy sessions; SQLite may wait for its lock).
            recorded = await asyncio.to_thread(work)
        except IdempotencyKeyReused as exc:
            return api_error(
                409, "idempotency_key_reused",
                f"id {event.id!r} was already used for event {exc.first_event!r} of this lead; "
                "send a new id for a new event", first_event=exc.first_event)
        except ValueError:  # the service refuses an action the script does not declare
            return _unknown_event(event.event, known)
        except Exception as exc:
            faults.failed(exc)
            if database_unavailable(exc):
                return api_error(503, "database_unavailable",
                                 "the database is unreachable; retry later",
                                 headers={"Retry-After": "5"})
            raise
        faults.succeeded()
        if recorded is None:
            return api_error(404, "unknown_lead",
                             f"no lead with {event.lead.describe()}")
        log.info("event %s recorded for lead #%s%s", event.event, recorded.lead_id,
                 " (duplicate)" if recorded.duplicate else "")
        return JSONResponse({
            "lead": {"id": recorded.lead_id, "stage": recorded.stage, "score": recorded.score,
                     "temperature": recorded.temperature},
            "event": event.event,
            "duplicate": recorded.duplicate,
        })

    return [Route(EVENTS_PATH, post_event, methods=["POST"])]


def create_api_app(
    *, service: LeadService, uow_factory: Callable[[], UnitOfWork], settings: Settings
) -> Starlette:
    """A Starlette app serving only the API (tests, or mounting under another app)."""
    return Starlette(routes=api_routes(service=service, uow_factory=uow_factory, settings=settings))


def _unknown_event(name: str, known: list[str]) -> JSONResponse:
    return api_error(
        422, "unknown_event",
        f"unknown event {name!r}; this script's engagement actions are: {', '.join(known)}",
        known_events=known,
    )

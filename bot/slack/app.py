"""The Slack side of the HTTP app: a Bolt `AsyncApp` with our listeners, mounted at `/slack/events`.

Bolt verifies every request's signature (missing, wrong, or a timestamp more than
five minutes off → 401 before any listener runs) and answers url_verification.
Events, interactivity and slash commands all use the one URL. Starlette only
translates: `AsyncSlackRequestHandler` turns the request into a Bolt request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.slack.commands import register_commands
from bot.slack.context import SlackContext
from bot.slack.events import register_events
from bot.slack.interactions import register_interactions
from conversations.dsl import Script

SLACK_PATH = "/slack/events"


def build_interactive_client(*, token: str, base_url: str, timeout: int = 10) -> AsyncWebClient:
    """The client listeners use: a rep is waiting, so retry a 429 or a dropped connection once."""
    return AsyncWebClient(
        token=token, base_url=base_url, timeout=timeout,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )


def create_bolt_app(
    *, client: AsyncWebClient, signing_secret: str, session_factory: sessionmaker[Session],
    script_provider: Callable[[], Script | None], clock: Callable[[], datetime],
) -> AsyncApp:
    app = AsyncApp(client=client, signing_secret=signing_secret)
    ctx = SlackContext(session_factory=session_factory, script_provider=script_provider, clock=clock)
    register_interactions(app, ctx)
    register_commands(app, ctx)
    register_events(app, ctx)
    return app


def slack_routes(bolt_app: AsyncApp) -> list[Route]:
    """Routes to add to the process's Starlette app (`leadbot run` / `leadbot serve`)."""
    handler = AsyncSlackRequestHandler(bolt_app)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    return [Route(SLACK_PATH, endpoint, methods=["POST"])]


def create_slack_asgi_app(bolt_app: AsyncApp) -> Starlette:
    """A Starlette app serving only the Slack endpoint (tests, or a Slack-only deployment)."""
    return Starlette(routes=slack_routes(bolt_app))

"""The Slack side of the HTTP app: a Bolt `AsyncApp` with our listeners, mounted at `/slack/events`.

`bot.slack.request_gate` bounds the body and verifies the signature (missing, wrong,
or a timestamp more than five minutes off → 401) before anything parses it; Bolt
then answers url_verification and runs the listeners. Events, interactivity and
slash commands all use the one URL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.routing import Route

from bot.slack.commands import register_commands
from bot.slack.context import SlackContext
from bot.slack.events import register_events
from bot.slack.interactions import register_interactions
from bot.slack.listener_errors import report_listener_errors
from bot.slack.request_gate import SlackRequestGate
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
    report_listener_errors(app)
    return app


def slack_routes(bolt_app: AsyncApp, *, signing_secret: str) -> list[Route]:
    """Routes to add to the process's Starlette app (`leadbot run` / `leadbot serve`)."""
    return [Route(SLACK_PATH, SlackRequestGate(bolt_app, signing_secret=signing_secret).handle,
                  methods=["POST"])]


def create_slack_asgi_app(bolt_app: AsyncApp, *, signing_secret: str) -> Starlette:
    """A Starlette app serving only the Slack endpoint (tests, or a Slack-only deployment)."""
    return Starlette(routes=slack_routes(bolt_app, signing_secret=signing_secret))

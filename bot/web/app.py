"""The Starlette app of `leadbot serve` (and of `leadbot run`'s HTTP side): routes + lifespan.

The factory only assembles parts built by the composition root: the Telegram
runtime (webhook route, reply delivery), the Slack routes, the events API when that
module is installed, health and metrics. The lifespan starts what needs starting
(PTB's `getMe`, the reply deliverer, optional background jobs), registers the
webhook, and stops everything in reverse order, after uvicorn has let in-flight
requests finish.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from telegram.error import TelegramError

from bot.bootstrap import Container
from bot.studio.app import front_door, studio_mount
from bot.telegram.application import TelegramRuntime
from bot.web.health import health_route
from bot.web.metrics import UpdateMetrics, metrics_route
from bot.web.telegram_webhook import WEBHOOK_PATH, TelegramWebhook

log = logging.getLogger(__name__)


class Lifecycle(Protocol):
    """Something with a start and a graceful stop (the background jobs)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WebhookRegistration:
    """What to tell Telegram at start (setWebhook)."""

    url: str
    secret: str
    allowed_updates: Sequence[str]
    max_connections: int = 40


@dataclass
class WebParts:
    container: Container
    telegram: TelegramRuntime | None = None
    webhook_secret: str | None = None  # mounts POST /telegram/webhook when set with `telegram`
    register: WebhookRegistration | None = None
    slack_routes: Sequence[BaseRoute] = ()
    background: Lifecycle | None = None
    # `leadbot run` polls and starts its Telegram runtime itself.
    manage_telegram: bool = True
    metrics: UpdateMetrics = field(default_factory=UpdateMetrics)
    studio: bool = True  # the marketers' workspace at /studio
    # Why the lifespan failed to start, for the CLI's one-line error (uvicorn only logs it).
    startup_error: BaseException | None = None


def events_api_routes(container: Container) -> list[BaseRoute]:
    """POST /api/events, when `bot.api.events` is part of this installation."""
    if importlib.util.find_spec("bot.api") is None or importlib.util.find_spec(
        "bot.api.events"
    ) is None:
        return []
    module: Any = importlib.import_module("bot.api.events")
    routes: list[BaseRoute] = list(module.api_routes(
        service=container.service, uow_factory=container.uow, settings=container.settings,
        clock=container.clock))
    return routes


class LeadbotApp(Starlette):
    """Starlette, with the Telegram webhook's POSTs taken before its middleware and routing.

    The webhook runs for every message a prospect sends and answers every request
    itself (errors included), so Starlette's error and exception layers and its route
    matching add only cost there. It stays a route too, so it is listed, and a GET
    gets Starlette's 405.
    """

    def __init__(self, *, webhook: TelegramWebhook | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self._webhook is not None and scope["type"] == "http"
                and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST"):
            await self._webhook(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(parts: WebParts) -> LeadbotApp:
    container = parts.container
    routes: list[BaseRoute] = [
        health_route(engine=container.engine),
        metrics_route(updates=parts.metrics, uow_factory=container.uow, clock=container.clock,
                      token=_secret(container.settings.leadbot_metrics_token)),
    ]
    webhook = None
    if parts.telegram is not None and parts.webhook_secret:
        webhook = TelegramWebhook(runtime=parts.telegram, secret=parts.webhook_secret,
                                  metrics=parts.metrics)
        routes.append(Route(WEBHOOK_PATH, webhook, methods=["POST"]))
    routes += parts.slack_routes
    routes += events_api_routes(container)
    if parts.studio:
        routes += [studio_mount(container), front_door()]
    return LeadbotApp(webhook=webhook, routes=routes, lifespan=_lifespan(parts))


def _lifespan(parts: WebParts) -> Callable[[Starlette], Any]:
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        telegram = parts.telegram if parts.manage_telegram else None
        try:
            if telegram is not None:
                await telegram.start()
                if parts.register is not None:
                    await _register_webhook(telegram, parts.register)
        except BaseException as exc:
            parts.startup_error = exc
            if telegram is not None:
                await telegram.stop()
            raise
        if parts.background is not None:
            parts.background.start()
        log.info("web app ready", extra={"routes": ",".join(_paths(parts))})
        try:
            yield
        finally:
            if parts.background is not None:
                await parts.background.stop()
            if telegram is not None:
                await telegram.stop()

    return lifespan


async def _register_webhook(telegram: TelegramRuntime, register: WebhookRegistration) -> None:
    # Idempotent: every web process registers the same URL at start; pending updates
    # are kept (drop_pending_updates=False) so a deploy loses nothing.
    try:
        await telegram.bot.set_webhook(
            url=register.url, secret_token=register.secret,
            allowed_updates=list(register.allowed_updates),
            max_connections=register.max_connections, drop_pending_updates=False,
        )
    except TelegramError as exc:
        raise RuntimeError(f"Telegram refused the webhook {register.url!r}: {exc}") from exc
    log.info("Telegram webhook registered", extra={"max_connections": register.max_connections})


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _paths(parts: WebParts) -> list[str]:
    paths = ["/healthz", "/metrics"]
    if parts.telegram is not None and parts.webhook_secret:
        paths.append("/telegram/webhook")
    paths += [r.path for r in parts.slack_routes if isinstance(r, Route)]
    if parts.studio:
        paths.append("/studio")
    return paths

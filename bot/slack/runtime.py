"""Wiring the Slack adapter from settings, for the composition root (`leadbot run`, `serve`, `worker`).

One call gives the delivery worker (always: without a token it only logs that alerts
wait) and, when `SLACK_SIGNING_SECRET` is set, the Starlette routes for `/slack/events`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Route

from bot.settings import Settings
from bot.slack.alert import render_alert_text
from bot.slack.app import build_interactive_client, create_bolt_app, slack_routes
from bot.slack.card_source import load_alert_card
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from conversations.dsl import Script
from storage.unit_of_work import UnitOfWork


@dataclass
class SlackRuntime:
    delivery: SlackDelivery
    routes: list[Route]  # empty when SLACK_SIGNING_SECRET is not set


def build_slack_runtime(
    settings: Settings, *, session_factory: sessionmaker[Session],
    script_provider: Callable[[], Script | None], clock: Callable[[], datetime],
    policy: DeliveryPolicy | None = None,
) -> SlackRuntime:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    delivery = SlackDelivery(
        session_factory=session_factory,
        client=build_delivery_client(token=token, base_url=settings.slack_api_base_url)
        if token else None,
        default_channel=settings.slack_channel, script_provider=script_provider,
        policy=policy or DeliveryPolicy(), clock=clock,
    )
    routes: list[Route] = []
    if token and settings.slack_signing_secret is not None:
        signing_secret = settings.slack_signing_secret.get_secret_value()
        bolt = create_bolt_app(
            client=build_interactive_client(token=token, base_url=settings.slack_api_base_url),
            signing_secret=signing_secret,
            session_factory=session_factory, script_provider=script_provider, clock=clock,
        )
        routes = slack_routes(bolt, signing_secret=signing_secret)
    return SlackRuntime(delivery=delivery, routes=routes)


def render_lead_alert_text(uow: UnitOfWork, lead_id: int, script: Script | None) -> str | None:
    """The alert sales would get, as terminal text (`leadbot chat` without Slack); None if erased."""
    card = load_alert_card(uow, lead_id, script)
    return render_alert_text(card) if card is not None else None

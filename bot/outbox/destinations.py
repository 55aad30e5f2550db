"""The senders the background outbox worker carries besides Slack's: register new destination kinds here."""

from __future__ import annotations

from bot.bootstrap import Container
from bot.integrations.config import load_integrations
from bot.integrations.fanout_sender import LeadEventFanOut
from bot.integrations.hubspot_api import HubSpotCrm, build_hubspot_client
from bot.integrations.hubspot_sender import HubSpotSender
from bot.integrations.webhook_http import build_webhook_http_client
from bot.integrations.webhook_sender import WebhookSender
from bot.outbox.worker import Sender


def background_senders(container: Container) -> list[Sender]:
    """Senders for `leadbot worker` / `run` / `serve --jobs`, next to the Slack sender.

    Lead events are always fanned out (to nothing when no webhook or CRM is set up,
    which keeps their queue empty); webhooks and HubSpot when configured. The CLI
    checked the settings at start (`load_integrations` raises with one line otherwise).
    """
    integrations = load_integrations(container.settings)

    senders: list[Sender] = [LeadEventFanOut(endpoints=integrations.webhooks,
                                             hubspot=integrations.hubspot is not None,
                                             script_provider=lambda: container.script_source.loaded().script)]
    if integrations.webhooks:
        senders.append(WebhookSender(endpoints=integrations.webhooks, client=build_webhook_http_client(),
                                     clock=container.clock))
    if integrations.hubspot is not None:
        crm = HubSpotCrm(build_hubspot_client(token=integrations.hubspot.token,
                                              base_url=integrations.hubspot.base_url))
        senders.append(HubSpotSender(crm=crm, owners=integrations.hubspot.owners,
                                     script_provider=lambda: container.script_source.loaded().script))
    return senders

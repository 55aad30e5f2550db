"""The senders the background outbox worker carries besides Slack's: register new destination kinds here."""

from __future__ import annotations

from bot.bootstrap import Container
from bot.outbox.worker import Sender


def background_senders(container: Container) -> list[Sender]:
    """Senders for `leadbot worker` / `run` / `serve --jobs`, next to the Slack sender.

    Return an instance of each extra destination's sender (outbound webhooks, CRM…),
    built from `container.settings`; see `bot.outbox.worker` for the interface.
    """
    del container  # no extra destination yet
    return []

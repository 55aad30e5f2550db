"""When a routing rule's channel cannot take the alert: say so on the alert, in the default channel.

A script may route to a channel that was never created, was archived, or that the
bot was never invited to. Retrying cannot fix that, and a qualified lead must not
wait for someone to notice a log line: the alert goes to the default channel at
once, with a first line naming the channel that was meant and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Slack's errors for a channel the bot cannot post in (chat.postMessage).
UNUSABLE_CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


@dataclass(frozen=True, slots=True)
class Reroute:
    """Why an alert is going to the default channel instead of `meant`."""

    meant: str  # the channel the routing rule names, as written in the script
    problem: str  # a Slack error code, or "channel_not_found" when the name is unknown

    @property
    def explanation(self) -> str:
        meant = self.meant if self.meant.startswith(("#", "C", "G")) else f"#{self.meant}"
        if self.problem == "not_in_channel":
            return (f"the bot is not in {meant}; in Slack, open {meant} and type "
                    "`/invite @` followed by the bot's name")
        if self.problem == "is_archived":
            return (f"{meant} is archived; unarchive it, or change its `routing` rule "
                    "in the script")
        return (f"there is no channel {meant} the bot can see; create it and invite the "
                "bot, or fix the channel name in the script's `routing`")

    @property
    def note(self) -> str:
        return f"⚠️ This alert was meant for {self.meant}: {self.explanation}."


def rerouted_blocks(
    reroute: Reroute, blocks: list[dict[str, Any]], text: str
) -> tuple[list[dict[str, Any]], str]:
    """The alert's blocks and text with the note on top."""
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": reroute.note}]}
    return [note, *blocks], f"{reroute.note}\n{text}"

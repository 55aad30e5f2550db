"""Which sales channel a lead goes to: the script's first matching `routing` rule."""

from __future__ import annotations

from dataclasses import dataclass

from conversations.conditions import Facts, holds
from conversations.dsl import Script


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The routing rule that matched: its position in `routing` and its channel."""

    index: int
    channel: str


def route_for(script: Script, facts: Facts) -> RouteChoice | None:
    """The first route whose `when` holds; None means the default channel."""
    for index, route in enumerate(script.routing):
        if route.when is None or holds(route.when, facts):
            return RouteChoice(index=index, channel=route.channel)
    return None

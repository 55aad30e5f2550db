"""Which sales channel a lead goes to: the script's first matching `routing` rule."""

from __future__ import annotations

from collections.abc import Mapping

from conversations.conditions import Facts, holds
from conversations.dsl import Route, Script


def route_for(
    script: Script, options: Mapping[str, str | None], *, stage: str, fit: int = 0, intent: int = 0
) -> tuple[int, Route] | None:
    """The (index, rule) of the first route whose `when` holds; None means the default channel."""
    facts = Facts(options=options, stage=stage, fit=fit, intent=intent)
    for index, route in enumerate(script.routing):
        if route.when is None or holds(route.when, facts):
            return index, route
    return None

"""Which rep an alert mentions: the script route's `reps`, in a fair rotation kept in the database.

The rotation is a `key_values` row per route (`slack.rotation:<script id>:<route index>`)
read with a row lock and written in the same transaction that records the choice on
the outbox row, so two workers never hand the same turn out twice and a restart
continues where the last process stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conversations.dsl import Route, Script
from storage.unit_of_work import UnitOfWork


def route_of(script: Script | None, route_index: object) -> Route | None:
    """The route the service picked (its index is in the alert's payload), if still there."""
    if script is None or not isinstance(route_index, int):
        return None
    if 0 <= route_index < len(script.routing):
        return script.routing[route_index]
    return None


def rotation_key(script_id: str, route_index: int) -> str:
    return f"slack.rotation:{script_id}:{route_index}"


def pick_next_rep(last: str | None, turns: int, reps: Sequence[str]) -> str:
    """Round robin: the rep after the last one served; when the list was edited and
    the last rep left it, continue from the number of turns already given."""
    if last is not None and last in reps:
        return reps[(list(reps).index(last) + 1) % len(reps)]
    return reps[turns % len(reps)]


def take_rep_turn(uow: UnitOfWork, *, key: str, reps: Sequence[str], now: datetime) -> str | None:
    """Hand out the next turn of a route's rotation (no commit: the caller's transaction)."""
    if not reps:
        return None
    row = uow.key_values.get_locked(key)
    value = dict(row.value) if row is not None else {}
    last = value.get("last")
    turns = int(value.get("turns", 0))
    rep = pick_next_rep(last if isinstance(last, str) else None, turns, reps)
    uow.key_values.put(key, {"last": rep, "turns": turns + 1}, now=now)
    return rep

"""What a typed answer matched: the option or band, the value read, and how sure.

Shared by the phrase matcher (:mod:`conversations.matching`) and the band rules
(:mod:`conversations.bands`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["ACCEPT_CONFIDENCE", "NO_MATCH", "Match"]

ACCEPT_CONFIDENCE: Final = 0.75
"""At or above it the engine records the answer; below it, it asks "Did you mean…?"."""


@dataclass(frozen=True, slots=True)
class Match:
    """What a typed answer means.

    `option_id` is the best option (a band id for quantities) or None;
    `value` the parsed count, amount or days; `confidence` in [0, 1];
    `suggestions` the options worth offering when confidence is below
    :data:`ACCEPT_CONFIDENCE`, best first (empty when there is nothing to offer).
    """

    option_id: str | None
    value: float | None
    confidence: float
    suggestions: tuple[str, ...] = ()


NO_MATCH: Final = Match(None, None, 0.0)

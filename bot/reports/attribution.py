"""Attribution: the `/start` payload of a campaign link, read as source / campaign / medium.

The convention (documented in the README, "Reports and export"): the payload is
`source-campaign-medium`, split on `-`; `_` joins words inside one part.

* 1 part   `linkedin`                      → source `linkedin`
* 2 parts  `linkedin-q3launch`             → source `linkedin`, campaign `q3launch`
* 3+ parts `google-black-friday-cpc`       → source `google`, medium `cpc`, and every
  part in between is the campaign (`black-friday`), so campaign names may hold `-`.

Values are lower-cased (Telegram keeps the case of a payload; marketers do not
mean `LinkedIn` and `linkedin` as two sources). An empty part (`linkedin--paid`)
means "not given". A payload that is not a valid `/start` payload
(`[A-Za-z0-9_-]{1,64}`) attributes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SEPARATOR = "-"


@dataclass(frozen=True, slots=True)
class Attribution:
    source: str | None = None
    campaign: str | None = None
    medium: str | None = None


NONE = Attribution()


def parse_payload(payload: str | None) -> Attribution:
    """Source, campaign and medium of a `/start` payload (see the module docstring)."""
    if not payload or not PAYLOAD.match(payload):
        return NONE
    parts = payload.lower().split(SEPARATOR)
    if len(parts) == 1:
        return Attribution(source=_part(parts[0]))
    if len(parts) == 2:
        return Attribution(source=_part(parts[0]), campaign=_part(parts[1]))
    middle = SEPARATOR.join(parts[1:-1]).strip(SEPARATOR)
    return Attribution(source=_part(parts[0]), campaign=_part(middle), medium=_part(parts[-1]))


def _part(text: str) -> str | None:
    return text or None


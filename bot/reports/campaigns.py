"""The campaign spend file: which campaigns ran, on which source, for how much.

A bare list of campaigns is accepted too (each in EUR unless it says otherwise):

```yaml
currency: EUR                 # default for campaigns that do not say
campaigns:
  - id: q3launch              # the campaign part of the /start payload
    source: linkedin          # optional: only leads from this source count
    spend: 1200
  - id: q3launch
    source: google
    spend: 800.50
    currency: USD
```

Parsed like scripts are (YAML nodes keep their lines, pydantic validates), so a
mistake is reported as `file:line:col  path: message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.reports.attribution import Attribution

# The script loader's YAML builder records each value's position; reusing it keeps
# one YAML dialect (no yes/no booleans, no dates) across every marketer-edited file.
from conversations.loader import (
    PositionedBuilder,
    Problem,
    UnreadableFile,
    locate,
    read_utf8,
    render_path,
)
from conversations.strict_yaml import StrictLoader

MAX_FILE_BYTES = 1_000_000
_ID = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    source: str | None = None
    spend: float = Field(ge=0, allow_inf_nan=False)
    currency: str | None = None
    name: str | None = None

    @field_validator("id", "source")
    @classmethod
    def _lower_id(cls, value: str | None) -> str | None:
        # Payloads are lower-cased by attribution; ids must compare the same way.
        if value is None:
            return None
        value = value.strip().lower()
        if not _ID.match(value):
            raise ValueError(
                "use letters, digits, `_` and `-` (up to 64), as in the /start payload"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY.match(value.strip().upper()):
            raise ValueError("a three-letter ISO code such as EUR or USD")
        return None if value is None else value.strip().upper()

    @property
    def label(self) -> str:
        return f"{self.source}/{self.id}" if self.source else self.id


class CampaignFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "EUR"
    campaigns: list[Campaign] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not _CURRENCY.match(value.strip().upper()):
            raise ValueError("a three-letter ISO code such as EUR or USD")
        return value.strip().upper()


@dataclass(frozen=True, slots=True)
class CampaignSpend:
    """One campaign as reports use it: the currency resolved, the label ready."""

    id: str
    source: str | None
    spend: float
    currency: str
    label: str


class CampaignFileError(Exception):
    """The file cannot be used; `problems` lists every error, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


def load_campaigns(path: str | Path) -> list[CampaignSpend]:
    path = Path(path)
    try:
        _, text = read_utf8(path, max_bytes=MAX_FILE_BYTES, too_big="the file is over 1 MB")
    except UnreadableFile as exc:
        raise CampaignFileError([exc.problem]) from None
    return parse_campaigns(text, filename=str(path))


def parse_campaigns(text: str, *, filename: str) -> list[CampaignSpend]:
    data, positions = _compose(text, filename)
    try:
        parsed = CampaignFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = tuple(error["loc"])
            _, line, column = locate(positions, path)
            problems.append(Problem(filename, line, column, render_path(path), _friendly(error)))
        raise CampaignFileError(problems) from None
    seen: dict[tuple[str, str | None], int] = {}
    problems = []
    for index, campaign in enumerate(parsed.campaigns):
        key = (campaign.id, campaign.source)
        if key in seen:
            _, line, column = locate(positions, ("campaigns", index, "id"))
            first = locate(positions, ("campaigns", seen[key]))[1]
            problems.append(Problem(
                filename, line, column, f"campaigns[{index}].id",
                f"campaign {campaign.label!r} is already listed at line {first}; merge the two",
            ))
        seen.setdefault(key, index)
    if problems:
        raise CampaignFileError(problems)
    return [
        CampaignSpend(
            id=c.id, source=c.source, spend=c.spend,
            currency=c.currency or parsed.currency, label=c.label,
        )
        for c in parsed.campaigns
    ]


def _compose(text: str, filename: str) -> tuple[Any, dict[tuple[str | int, ...], tuple[int, int]]]:
    try:
        root = yaml.compose(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc}"
        raise CampaignFileError([Problem(filename, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        raise CampaignFileError([Problem(filename, 1, 1, "", f"YAML error: {exc}")]) from None
    if root is None:
        message = "the file is empty; start with `campaigns:`"
        raise CampaignFileError([Problem(filename, 1, 1, "", message)])
    builder = PositionedBuilder(filename)
    data = builder.build(root, ())
    if builder.problems:
        raise CampaignFileError(builder.problems)
    if isinstance(data, list):
        # A bare list of campaigns is the short form of `campaigns: [...]`.
        positions = {("campaigns", *path): at for path, at in builder.positions.items()}
        return {"campaigns": data}, {**positions, (): builder.positions.get((), (1, 1))}
    if not isinstance(data, dict):
        message = "expected a list of campaigns, or a mapping with a `campaigns:` list"
        raise CampaignFileError([Problem(filename, 1, 1, "", message)])
    return data, builder.positions


def _friendly(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key; use id, source, spend, currency or name"
    if error["type"] == "missing":
        return "missing; add it"
    if error["type"] == "model_type":
        return "each campaign is a mapping such as {id: q3launch, spend: 1200}"
    return message


def campaign_for(
    attribution: Attribution, campaigns: list[CampaignSpend]
) -> CampaignSpend | None:
    """The campaign a lead is counted against: the one for its source, else the sourceless one."""
    if attribution.campaign is None:
        return None
    fallback = None
    for campaign in campaigns:
        if campaign.id != attribution.campaign:
            continue
        if campaign.source is not None and campaign.source == attribution.source:
            return campaign
        if campaign.source is None:
            fallback = campaign
    return fallback

"""Building blocks of the script DSL: texts, points, identifiers, conditions.

Shared by `conversations.dsl` (questions, scoring, routing) and
`conversations.dsl_nurture` (reminders, follow-ups, engagement).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

# Stage and Temperature (re-exported) run from the DSL to the database columns.
from conversations.vocabulary import STAGE_ORDER as STAGE_ORDER
from conversations.vocabulary import Stage as Stage
from conversations.vocabulary import Temperature as Temperature

Language = Literal["en", "fr"]
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "fr")

ID_PATTERN = r"^[a-z0-9][a-z0-9_]{0,31}$"
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
ScriptId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Model(BaseModel):
    """Base for every DSL model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(RootModel[dict[str, str]]):
    """A text in several languages: `{en: "...", fr: "..."}` or a plain string.

    A plain string is taken as the script's default language; the validator
    reports languages the script declares but a text lacks.
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_default_language(cls, value: object) -> object:
        if isinstance(value, str):
            return {"*": value}
        return value

    @field_validator("root")
    @classmethod
    def _known_languages(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, text in value.items():
            if lang != "*" and lang not in SUPPORTED_LANGUAGES:
                raise ValueError(
                    f"unknown language {lang!r}; use one of {', '.join(SUPPORTED_LANGUAGES)}"
                )
            if not text.strip():
                raise ValueError(f"the {lang} text is empty")
        return value

    def get(self, lang: str, default_lang: str) -> str:
        """The text in `lang`, else in the default language, else any text."""
        texts = self.root
        for key in (lang, default_lang, "*"):
            if key in texts:
                return texts[key]
        return next(iter(texts.values()))

    def languages(self) -> frozenset[str]:
        return frozenset(self.root)


class Synonyms(RootModel[dict[str, tuple[str, ...]]]):
    """Words that mean an option: a flat list, or lists per language."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _flat_list_is_all_languages(cls, value: object) -> object:
        if isinstance(value, list):
            return {"*": value}
        return value

    def all(self) -> tuple[str, ...]:
        return tuple(word for words in self.root.values() for word in words)


class Points(Model):
    """Points an answer or action adds: to fit (who they are) and intent (how ready)."""

    fit: int = Field(default=0, ge=-1000, le=1000)
    intent: int = Field(default=0, ge=-1000, le=1000)

    @property
    def total(self) -> int:
        return self.fit + self.intent


# --- conditions -----------------------------------------------------------


class Condition(Model):
    """A declarative test on a conversation; every key given must hold (AND).

    * `answer: {question: [option ids]}`: the answer to each question is one of those;
    * `answered: [question ids]` / `not_answered: [...]`;
    * `stage_at_least: mql`;  `score_at_least: {fit: 20}` (or intent / total);
    * `stage: [mql, sql]`, `temperature: [warm, hot]`: one of those;
    * `any: [conditions]`, `all: [conditions]`, `not: condition`.
    """

    answer: dict[Identifier, tuple[Identifier, ...]] | None = None
    answered: tuple[Identifier, ...] | None = None
    not_answered: tuple[Identifier, ...] | None = None
    stage_at_least: Literal["engaged", "mql", "sql"] | None = None
    stage: tuple[Stage, ...] | None = None
    temperature: tuple[Temperature, ...] | None = None
    score_at_least: dict[Literal["fit", "intent", "total"], int] | None = None
    any: tuple[Condition, ...] | None = None
    all: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(
                "an empty condition; give at least one of answer, answered, not_answered, "
                "stage_at_least, stage, temperature, score_at_least, any, all, not"
            )
        return self

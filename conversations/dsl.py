"""The question-script DSL: pydantic models for what marketers write in YAML.

Everything a marketer can express is data: texts per language, options with
synonyms and points, numeric bands, declarative conditions (`when:` maps),
scoring thresholds, routing and examples. Nothing here is ever evaluated as
code. Cross-references (a condition naming a question, a `goto` target…) are
checked by :mod:`conversations.validation`, which needs the whole script.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

Language = Literal["en", "fr"]
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "fr")
Stage = Literal["new", "engaged", "mql", "sql", "disqualified"]
STAGE_ORDER: tuple[str, ...] = ("new", "engaged", "mql", "sql")

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


class Option(Model):
    """A fixed answer: shown as a button, matched from free text by label and synonyms."""

    id: Identifier
    label: Text
    synonyms: Synonyms = Synonyms({})
    points: Points = Points()


class Band(Option):
    """A numeric range mapped to an option id.

    The upper end is `max` (inclusive: "up to 10 people") or `below`
    (exclusive: "under 5 000 €"); the last band may have neither (open-ended).
    The lower end is the previous band's upper end.
    """

    max: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_upper_end(self) -> Band:
        if self.max is not None and self.below is not None:
            raise ValueError(f"band {self.id!r} has both max and below; keep one")
        return self

    @property
    def upper(self) -> float | None:
        return self.max if self.max is not None else self.below

    def contains_upper(self, value: float) -> bool:
        """Whether `value` is at or under this band's upper end."""
        if self.max is not None:
            return value <= self.max
        if self.below is not None:
            return value < self.below
        return True


# --- conditions -----------------------------------------------------------


class Condition(Model):
    """A declarative test on a conversation; every key given must hold (AND).

    * `answer: {question: [option ids]}`: the answer to each question is one of those;
    * `answered: [question ids]` / `not_answered: [...]`;
    * `stage_at_least: mql`;  `score_at_least: {fit: 20}` (or intent / total);
    * `any: [conditions]`, `all: [conditions]`, `not: condition`.
    """

    answer: dict[Identifier, tuple[Identifier, ...]] | None = None
    answered: tuple[Identifier, ...] | None = None
    not_answered: tuple[Identifier, ...] | None = None
    stage_at_least: Literal["engaged", "mql", "sql"] | None = None
    score_at_least: dict[Literal["fit", "intent", "total"], int] | None = None
    any: tuple[Condition, ...] | None = None
    all: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError(
                "an empty condition; give at least one of answer, answered, "
                "not_answered, stage_at_least, score_at_least, any, all, not"
            )
        return self


class Branch(Model):
    """Where to go after a question: the first branch whose `when` holds wins."""

    when: Condition | None = None
    goto: Identifier  # a question id, or "end"


# --- questions ----------------------------------------------------------------


class QuestionBase(Model):
    id: Identifier
    ask: Text
    help: Text | None = None
    ask_when: Condition | None = None
    next: tuple[Branch, ...] = ()
    required: bool = True
    # Marks which part of the lead card the answer fills (name, company, email, phone).
    field: Literal["name", "company", "email", "phone", "role"] | None = None


class ChoiceQuestion(QuestionBase):
    type: Literal["choice"]
    options: tuple[Option, ...] = Field(min_length=1, max_length=20)


class BandedQuestion(QuestionBase):
    """A question answered with a quantity, mapped to a band; `options` catch non-numeric answers."""

    bands: tuple[Band, ...] = Field(min_length=1, max_length=20)
    options: tuple[Option, ...] = ()
    min: float = 0

    @model_validator(mode="after")
    def _bands_ordered(self) -> BandedQuestion:
        previous: float | None = None
        last = len(self.bands) - 1
        for index, band in enumerate(self.bands):
            upper = band.upper
            if upper is None and index != last:
                raise ValueError(
                    f"band {band.id!r} has no max but is not the last band; "
                    "only the last band may be open-ended"
                )
            if upper is not None:
                if previous is not None and upper <= previous:
                    raise ValueError(
                        f"band {band.id!r} ends at {upper:g}, not above the previous "
                        f"band's end {previous:g}; list bands from low to high"
                    )
                if upper < self.min:
                    raise ValueError(f"band {band.id!r} ends at {upper:g}, below min {self.min:g}")
                previous = upper
        return self

    def all_options(self) -> tuple[Option, ...]:
        return (*self.bands, *self.options)

    def band_for(self, value: float) -> Band | None:
        """The band holding `value`, or None when it is below `min`."""
        if value < self.min:
            return None
        for band in self.bands:
            if band.contains_upper(value):
                return band
        return None


class NumberQuestion(BandedQuestion):
    type: Literal["number"]
    unit: Text | None = None


class MoneyQuestion(BandedQuestion):
    type: Literal["money"]
    currency: str = "EUR"


class TimeframeQuestion(BandedQuestion):
    """Bands in days."""

    type: Literal["timeframe"]


class TextQuestion(QuestionBase):
    type: Literal["text"]
    max_length: int = Field(default=200, ge=1, le=2000)


class EmailQuestion(QuestionBase):
    type: Literal["email"]


class PhoneQuestion(QuestionBase):
    type: Literal["phone"]


Question = Annotated[
    Union[
        ChoiceQuestion,
        NumberQuestion,
        MoneyQuestion,
        TimeframeQuestion,
        TextQuestion,
        EmailQuestion,
        PhoneQuestion,
    ],
    Field(discriminator="type"),
]
OptionQuestion = ChoiceQuestion | NumberQuestion | MoneyQuestion | TimeframeQuestion


def options_of(question: QuestionBase) -> tuple[Option, ...]:
    """Every option a question offers (bands included), in display order."""
    if isinstance(question, ChoiceQuestion):
        return question.options
    if isinstance(question, BandedQuestion):
        return question.all_options()
    return ()


# --- scoring, routing, examples ------------------------------------------------


class Thresholds(Model):
    mql: int = 40
    sql: int = 70

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.sql < self.mql:
            raise ValueError(f"sql ({self.sql}) must be at least mql ({self.mql})")
        return self


class Temperature(Model):
    warm: int = 30
    hot: int = 60

    @model_validator(mode="after")
    def _ordered(self) -> Temperature:
        if self.hot < self.warm:
            raise ValueError(f"hot ({self.hot}) must be at least warm ({self.warm})")
        return self


class Caps(Model):
    fit: int | None = Field(default=None, ge=0)
    intent: int | None = Field(default=None, ge=0)


class ScoringConfig(Model):
    thresholds: Thresholds = Thresholds()
    temperature: Temperature = Temperature()
    caps: Caps = Caps()
    # SQL also needs these questions answered (sales must be able to call back).
    sql_requires: tuple[Identifier, ...] = ()
    disqualify_when: Condition | None = None


class Route(Model):
    when: Condition | None = None
    channel: str = Field(pattern=r"^[#@]?[A-Za-z0-9._-]{1,80}$")
    reps: tuple[str, ...] = ()


class ExpectedOutcome(Model):
    stage: Stage | None = None
    temperature: Literal["cold", "warm", "hot"] | None = None
    options: dict[Identifier, Identifier | None] | None = None
    channel: str | None = None


class Example(Model):
    name: str | None = None
    lang: Language | None = None
    answers: dict[Identifier, str]
    expect: ExpectedOutcome


class Messages(Model):
    """Overrides of the engine's built-in texts (see conversations.messages)."""

    privacy: Text | None = None
    done: Text | None = None
    help: Text | None = None
    reask: Text | None = None
    did_you_mean: Text | None = None
    stopped: Text | None = None
    qualified: Text | None = None
    disqualified: Text | None = None


class Script(Model):
    id: ScriptId
    version: str | None = None
    languages: tuple[Language, ...] = Field(default=("en",), min_length=1)
    default_language: Language | None = None
    greeting: Text
    questions: tuple[Question, ...] = Field(min_length=1)
    messages: Messages = Messages()
    scoring: ScoringConfig = ScoringConfig()
    routing: tuple[Route, ...] = ()
    examples: tuple[Example, ...] = ()
    max_retries: int = Field(default=2, ge=0, le=10)

    @property
    def lang(self) -> str:
        """The default language: where a missing translation falls back to."""
        return self.default_language or self.languages[0]

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

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
    Field,
    model_validator,
)

from conversations.dsl_base import (  # noqa: F401  (re-exported: the DSL's vocabulary)
    ID_PATTERN,
    STAGE_ORDER,
    SUPPORTED_LANGUAGES,
    Condition,
    Identifier,
    Language,
    Model,
    Points,
    ScriptId,
    Stage,
    Synonyms,
    Temperature,
    Text,
)
from conversations.dsl_nurture import Booking, Engagement, Nurture
from conversations.dsl_sla import Sla


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


def _starts_above(previous: Band, limit: float) -> bool:
    """Whether the band after `previous` holds only values above `limit`."""
    if previous.max is not None:
        return previous.max >= limit
    return previous.below is not None and previous.below > limit


class BandedQuestion(QuestionBase):
    """A question answered with a quantity, mapped to a band; `options` catch non-numeric answers."""

    bands: tuple[Band, ...] = Field(min_length=1, max_length=20)
    options: tuple[Option, ...] = Field(default=(), max_length=20)
    min: float = 0  # a smaller number is re-asked ("at least {min}")
    max: float | None = None  # a larger number is re-asked ("at most {max}")

    @model_validator(mode="after")
    def _bands_ordered(self) -> BandedQuestion:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max:g} is below min {self.min:g}; swap them")
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
            if self.max is not None and index and _starts_above(self.bands[index - 1], self.max):
                raise ValueError(
                    f"band {band.id!r} starts above max {self.max:g}: no answer can reach it; "
                    "raise max or remove the band"
                )
            if upper is not None:
                previous = upper
        return self

    def all_options(self) -> tuple[Option, ...]:
        return (*self.bands, *self.options)

    def band_for(self, value: float) -> Band | None:
        """The band holding `value`, or None when it is below `min` or above `max`."""
        if value < self.min or (self.max is not None and value > self.max):
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


class TemperatureThresholds(Model):
    warm: int = 30
    hot: int = 60

    @model_validator(mode="after")
    def _ordered(self) -> TemperatureThresholds:
        if self.hot < self.warm:
            raise ValueError(f"hot ({self.hot}) must be at least warm ({self.warm})")
        return self


class Caps(Model):
    fit: int | None = Field(default=None, ge=0)
    intent: int | None = Field(default=None, ge=0)


class ScoringConfig(Model):
    thresholds: Thresholds = Thresholds()
    temperature: TemperatureThresholds = TemperatureThresholds()
    caps: Caps = Caps()
    # SQL also needs these questions answered (sales must be able to call back).
    sql_requires: tuple[Identifier, ...] = ()
    disqualify_when: Condition | None = None
    sla: Sla | None = None  # speed-to-lead for routing rules without their own


class Route(Model):
    when: Condition | None = None
    channel: str = Field(pattern=r"^[#@]?[A-Za-z0-9._-]{1,80}$")
    reps: tuple[str, ...] = ()
    sla: Sla | None = None


class ExpectedOutcome(Model):
    stage: Stage | None = None
    temperature: Temperature | None = None
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


MAX_QUESTIONS = 100


class Alerts(Model):
    """How sales alerts are written: one language for the whole sales team."""

    language: Language | None = None  # default: the script's default language


class Script(Model):
    id: ScriptId
    version: str | None = None
    languages: tuple[Language, ...] = Field(default=("en",), min_length=1)
    default_language: Language | None = None
    greeting: Text
    # A chat of more than a hundred questions loses every prospect; the cap also keeps
    # validation and the flow checks small.
    questions: tuple[Question, ...] = Field(min_length=1, max_length=MAX_QUESTIONS)
    messages: Messages = Messages()
    scoring: ScoringConfig = ScoringConfig()
    routing: tuple[Route, ...] = ()
    examples: tuple[Example, ...] = ()
    max_retries: int = Field(default=2, ge=0, le=10)
    nurture: Nurture = Nurture()
    engagement: Engagement = Engagement()
    booking: Booking | None = None
    alerts: Alerts = Alerts()

    @property
    def lang(self) -> str:
        """The default language: where a missing translation falls back to."""
        return self.default_language or self.languages[0]

    @property
    def alert_lang(self) -> str:
        """The sales team's language: option labels and reasons on alerts are in it."""
        return self.alerts.language or self.lang

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

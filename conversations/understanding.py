"""What a typed answer means, for any question type: the one entry point.

The engine, `leadbot script match` and `script simulate` (which runs the engine)
all read typed answers through :func:`understand`, so a marketer testing a
script sees exactly what a prospect would get.

* choice, number, money and timeframe questions: the option or band, through
  :func:`conversations.matching.match_answer` (dates such as "Q3" or
  "fin janvier" are read relative to `now`, the message's time);
* email and phone questions: the normalised address or number;
* text questions: the cleaned text.

An answer is *accepted* when it is understood with enough confidence; otherwise
`suggestions` holds the options worth offering in a "did you mean…?" (empty when
the question must simply be asked again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from conversations.contact import parse_email, parse_phone
from conversations.dsl import EmailQuestion, PhoneQuestion, QuestionBase, TextQuestion
from conversations.matching import ACCEPT_CONFIDENCE, MAX_CHARS, match_answer, match_normalised
from conversations.textnorm import clean, normalise
from conversations.turn import clean_text

__all__ = ["CONTACT_PARSERS", "Understanding", "understand"]

# How a typed email or phone number is read, and the message key to re-ask with.
CONTACT_PARSERS: Final[dict[type, tuple[Callable[[str], str | None], str]]] = {
    EmailQuestion: (parse_email, "reask_email"),
    PhoneQuestion: (parse_phone, "reask_phone"),
}


@dataclass(frozen=True, slots=True)
class Understanding:
    """One typed answer, understood.

    `option_id`: the option or band meant (None for text, email and phone
    questions, and when nothing was understood); `value`: the parsed count,
    amount, days, email, phone or text; `confidence` in [0, 1];
    `suggestions`: options to offer when the answer is not accepted.
    """

    option_id: str | None
    value: float | str | None
    confidence: float
    suggestions: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Understood well enough to record without asking."""
        return self.confidence >= ACCEPT_CONFIDENCE and (
            self.option_id is not None or self.value is not None)


def understand(question: QuestionBase, text: str, *, lang: str, now: datetime) -> Understanding:
    """What `text` answers to `question`, as of `now` (the time the message was sent).

    Pure and total: never raises, never reads the clock.
    """
    if isinstance(question, TextQuestion):
        cleaned = clean_text(text)
        return Understanding(None, cleaned or None, 1.0 if cleaned else 0.0)
    parser = CONTACT_PARSERS.get(type(question))
    if parser is not None:
        value = parser[0](text)
        return Understanding(None, value, 1.0 if value else 0.0)
    if len(text) <= MAX_CHARS:  # the matcher reads all of it: normalise it once for both
        answer = normalise(text)
        if not answer.cleaned:
            return Understanding(None, None, 0.0)
        match = match_normalised(question, answer, lang=lang, today=now.date())
    elif not clean(text):
        return Understanding(None, None, 0.0)
    else:
        match = match_answer(question, text, lang=lang, today=now.date())
    suggestions = match.suggestions
    if match.confidence < ACCEPT_CONFIDENCE and match.option_id is not None:
        suggestions = tuple(dict.fromkeys((match.option_id, *suggestions)))
    return Understanding(match.option_id, match.value, match.confidence, suggestions)

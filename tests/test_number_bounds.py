"""Number questions have both ends: `min:` and `max:` re-ask with a clear message."""

from __future__ import annotations

import pytest

from conversations.loader import ScriptError, parse_script
from tests.transcripts import Transcript

SCRIPT = """
id: bounds
languages: [en, fr]
greeting: {en: "Hi!", fr: "Bonjour !"}
questions:
  - id: company_size
    type: number
    ask: {en: "How many people?", fr: "Combien de personnes ?"}
    min: 1
    max: 100000
    bands:
      - {id: small, max: 50, label: {en: "1–50", fr: "1 à 50"}}
      - {id: large, label: {en: "51+", fr: "51+"}}
"""


def test_a_number_above_max_is_re_asked_saying_the_limit() -> None:
    t = Transcript(parse_script(SCRIPT, filename="bounds.yaml"))
    t.say("/start")
    t.say("5000000")
    assert t.asked == "company_size" and "company_size" not in t.state.answers
    assert "at most 100000" in t.text and "How many people?" in t.text
    t.say("120")
    assert t.state.answers["company_size"].option_id == "large"


def test_the_limit_is_said_in_the_prospects_language() -> None:
    t = Transcript(parse_script(SCRIPT, filename="bounds.yaml"), lang="fr")
    t.say("/start")
    t.say("3 millions")
    assert "au plus 100000" in t.text


def test_max_at_the_limit_is_accepted() -> None:
    t = Transcript(parse_script(SCRIPT, filename="bounds.yaml"))
    t.say("/start")
    t.say("100000")
    assert t.state.answers["company_size"].option_id == "large"


@pytest.mark.parametrize(("bounds", "message"), [
    ("min: 10\n    max: 5", "max 5 is below min 10"),
    ("max: 40", "band 'large' starts above max 40"),
])
def test_impossible_bounds_are_refused_with_the_fix(bounds: str, message: str) -> None:
    text = SCRIPT.replace("min: 1\n    max: 100000", bounds)
    with pytest.raises(ScriptError) as caught:
        parse_script(text, filename="bounds.yaml")
    assert message in str(caught.value)

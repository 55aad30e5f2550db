"""conversations.matching: which option or band a typed answer means, with the default script."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.dsl import ChoiceQuestion, Question, Script, options_of
from conversations.loader import load_script
from conversations.matching import ACCEPT_CONFIDENCE, Match, match_answer

DEFAULT_SCRIPT = Path(__file__).resolve().parents[1] / "conversations" / "scripts" / "default.yaml"


@cache
def default_script() -> Script:
    return load_script(DEFAULT_SCRIPT).script


@pytest.fixture()
def script() -> Script:
    return default_script()


def accepted(script: Script, question: str, text: str, *, lang: str = "en") -> str | None:
    match = match_answer(script.question(question), text, lang=lang)
    return match.option_id if match.confidence >= ACCEPT_CONFIDENCE else None


# --- choice questions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("Software & SaaS", "software"),  # a label, as a button would say it
        ("Secteur public & associations", "public"),
        ("insurance", "finance"),  # one part of the label "Finance & insurance"
        ("banks", "finance"),  # plurals
        ("hôpitaux", "healthcare"),
        ("universities", "education"),
        ("sofware", "software"),  # typos: a missing letter, a swap, a wrong letter
        ("retial", "retail"),
        ("helthcare", "healthcare"),
        ("Goverment agency", "public"),
        ("health care", "healthcare"),  # glued or not, the same phrase
        ("e commerce", "retail"),
        ("nonprofit", "public"),
        ("we build accounting software", "software"),
        ("tech company, we make an app", "software"),
        ("we're an insurance company", "finance"),
        ("insurance software", "software"),  # an English compound: the head decides
        ("retail bank", "finance"),
        ("edtech startup", "education"),  # "startup" names the company, not the sector
        ("pharmaceutical industry", "healthcare"),
        ("logiciel bancaire", "software"),  # a French compound: the head comes first
        ("we sell software to banks", "software"),  # otherwise the first mention
        ("real estate agency", "other"),  # "estate agency" must not become "state agency"
        ("IT", "software"),
        ("we're an IT company", "software"),  # capitals: the acronym, not the pronoun
    ],
)
def test_choice_answers(script: Script, text: str, option: str) -> None:
    assert accepted(script, "sector", text) == option


@pytest.mark.parametrize("text", ["asdfgh", "hello", "?", "", "   ", "ok", "yes", "😀😀",
                                  "what do you mean", "bit", "split", "happy", "itinerary"])
def test_garbage_matches_no_sector(script: Script, text: str) -> None:
    match = match_answer(script.question("sector"), text, lang="en")
    assert match.option_id is None or match.confidence < ACCEPT_CONFIDENCE


def test_a_two_letter_word_inside_a_sentence_is_only_a_suggestion(script: Script) -> None:
    match = match_answer(script.question("sector"), "we do it ourselves", lang="en")
    assert match.confidence < ACCEPT_CONFIDENCE
    assert match.suggestions == ("software",)


def test_customers_named_after_for_are_not_the_sector(script: Script) -> None:
    single = match_answer(script.question("sector"), "software for you", lang="en")
    both = match_answer(script.question("sector"), "software for hospitals", lang="en")
    assert single.option_id == both.option_id == "software"
    assert both.confidence == single.confidence >= ACCEPT_CONFIDENCE


def test_a_compound_is_read_by_its_head_with_less_confidence(script: Script) -> None:
    single = match_answer(script.question("sector"), "software", lang="en")
    both = match_answer(script.question("sector"), "insurance software", lang="en")
    assert single.option_id == both.option_id == "software"
    assert ACCEPT_CONFIDENCE <= both.confidence < single.confidence


def test_choice_matches_carry_no_value(script: Script) -> None:
    assert match_answer(script.question("sector"), "bank", lang="en").value is None


# --- banded questions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "option", "value"),
    [
        ("company_size", "about 300 people", "large", 300),
        ("company_size", "just me", "micro", 1),
        ("company_size", "10", "micro", 10),  # band ends are inclusive ("max")
        ("company_size", "11", "small", 11),
        ("company_size", "more than 1000", "enterprise", 1001),
        ("company_size", "under 50", "small", 49),
        ("company_size", "51–200", "medium", 125.5),  # a label typed in full
        ("company_size", "1 à 10", "micro", 5.5),
        ("company_size", "0-5 people", "micro", 2.5),
        ("budget", "15k", "5k_20k", 15_000),
        ("budget", "4999", "lt_5k", 4999),
        ("budget", "5000", "5k_20k", 5000),  # "below" bands exclude their end
        ("budget", "5–20 k€", "5k_20k", 12_500),  # a range up to a band's end stays in it
        ("budget", "Under 5 k€", "lt_5k", 4999.99),
        ("budget", "100 k€ or more", "gt_100k", 100_000),
        ("budget", "between 20 and 30k", "20k_100k", 25_000),
        ("urgency", "in 2 weeks", "now", 14),
        ("urgency", "within a month", "now", 29),
        ("urgency", "In 1–3 months", "quarter", 60),
        ("urgency", "3-6 months", "year", 135),  # mostly in one band
        ("urgency", "in 18 months", "exploring", 540),
    ],
)
def test_quantities_map_to_bands(script: Script, question: str, text: str, option: str,
                                 value: float) -> None:
    match = match_answer(script.question(question), text, lang="en")
    assert (match.option_id, match.value) == (option, pytest.approx(value))
    assert match.confidence >= ACCEPT_CONFIDENCE


@pytest.mark.parametrize(
    ("question", "text", "option"),
    [
        ("budget", "no idea yet", "unknown"),
        ("budget", "pas de budget défini", "unknown"),
        ("budget", "Not defined yet", "unknown"),
        ("urgency", "asap", "now"),
        ("urgency", "just looking", "exploring"),
        ("urgency", "pas tout de suite", "exploring"),  # not "tout de suite"
        ("urgency", "not right now", "exploring"),
        ("urgency", "Just exploring", "exploring"),
        ("company_size", "fortune 500", "enterprise"),  # a name, not 500 people
        ("company_size", "we're a fortune 500 company", "enterprise"),
    ],
)
def test_option_phrases_come_before_numbers(script: Script, question: str, text: str,
                                            option: str) -> None:
    assert accepted(script, question, text) == option


def test_a_synonym_match_keeps_the_parsed_value_when_it_agrees(script: Script) -> None:
    assert match_answer(script.question("urgency"), "asap", lang="en").value == 0


def test_a_range_across_bands_asks_which(script: Script) -> None:
    match = match_answer(script.question("company_size"), "5-15 people", lang="en")
    assert match.confidence < ACCEPT_CONFIDENCE
    assert set(match.suggestions) == {"micro", "small"}
    assert match.option_id == match.suggestions[0]


@pytest.mark.parametrize("text", ["0", "-5", "-3 people"])
def test_below_minimum_head_counts_match_nothing(script: Script, text: str) -> None:
    match = match_answer(script.question("company_size"), text, lang="en")
    assert match.option_id is None and match.suggestions == ()


def test_below_minimum_reports_the_value_for_the_reask(script: Script) -> None:
    assert match_answer(script.question("company_size"), "0", lang="en").value == 0


# --- hostile input --------------------------------------------------------------------------

HOSTILE = ["", " ", "x" * 10_000, "🙂" * 500, "שלום עולם", "مرحبا", "\u202e\u200f\x00\x1b[31m",
           "'; DROP TABLE leads;--", "<script>alert(1)</script>", "1e309", "-5", "inf", "nan",
           "∞", "%s%s%n", "{0}", "\ud800",
           "9" * 5000, "1 " * 3000, "a" * 300 + " bank"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_never_raises(script: Script, text: str) -> None:
    for question in script.questions:
        match = match_answer(question, text, lang="en")
        assert 0.0 <= match.confidence <= 1.0


@pytest.mark.parametrize("text", [t for t in HOSTILE if "bank" not in t])
def test_hostile_input_gives_no_company_size(script: Script, text: str) -> None:
    assert match_answer(script.question("company_size"), text, lang="en").option_id is None


def test_questions_without_options_match_nothing(script: Script) -> None:
    assert match_answer(script.question("email"), "ada@example.com", lang="en") == Match(
        None, None, 0.0)


@given(st.text(max_size=200), st.sampled_from(["en", "fr"]))
def test_matches_are_well_formed(text: str, lang: str) -> None:
    for question in default_script().questions[:4]:
        match = match_answer(question, text, lang=lang)
        ids = {option.id for option in options_of(question)}
        assert match.option_id is None or match.option_id in ids
        assert set(match.suggestions) <= ids
        assert 0.0 <= match.confidence <= 1.0


def test_match_is_a_frozen_value() -> None:
    match = Match("software", None, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.option_id = "finance"  # type: ignore[misc]


# --- the per-question cache -----------------------------------------------------------------


def test_an_edited_question_is_indexed_afresh(script: Script) -> None:
    sector = script.question("sector")
    assert isinstance(sector, ChoiceQuestion)
    assert accepted(script, "sector", "winery") is None
    data = sector.model_dump(by_alias=True)
    data["options"][-1]["synonyms"] = {"en": ["winery"]}
    edited: Question = ChoiceQuestion.model_validate(data)
    assert match_answer(edited, "winery", lang="en").option_id == "other"
    assert accepted(script, "sector", "winery") is None  # the original is untouched

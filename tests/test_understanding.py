"""Understanding that does not guess wrong: denials, customers, close candidates, dates, amounts.

Unit tests of `understand` (the one entry point of the engine and `script match`)
and of the date reader, with the default script, plus transcripts showing what
the prospect sees.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.calendar_dates import parse_calendar_days
from conversations.dsl import TimeframeQuestion
from conversations.exchange import AnswerRecorded
from conversations.quantities import parse_count, parse_money
from conversations.understanding import Understanding, understand
from tests.transcripts import DEFAULT, Transcript

MARCH = datetime(2026, 3, 2, 10, tzinfo=UTC)


def read(question: str, text: str, *, lang: str = "en", now: datetime = MARCH) -> Understanding:
    return understand(DEFAULT.question(question), text, lang=lang, now=now)


def accepted(question: str, text: str, *, lang: str = "en", now: datetime = MARCH) -> str | None:
    got = read(question, text, lang=lang, now=now)
    return got.option_id if got.accepted else None


# --- one entry point, every question type ----------------------------------------------


def test_understand_reads_every_question_type() -> None:
    assert read("sector", "we're a bank").option_id == "finance"
    assert read("budget", "15 k€").value == 15000
    email = read("email", "Ada@Example.com")
    assert email.accepted and email.option_id is None and str(email.value).endswith("example.com")
    assert not read("email", "not an email").accepted
    assert read("phone", "+33 6 12 34 56 78").accepted
    name = read("name", "  Ada   Lovelace ")
    assert name.accepted and name.value == "Ada   Lovelace"
    assert not read("sector", "   ").accepted


# --- denials, customers, close candidates --------------------------------------------------


@pytest.mark.parametrize(("text", "lang", "option"), [
    ("not finance, we are a hospital", "en", "healthcare"),
    ("we're not a bank, we make software for banks", "en", "software"),
    ("pas la banque mais l'assurance", "fr", "finance"),
    ("pas du logiciel mais du conseil", "fr", "other"),
    ("manufacturing? no, we're a distributor", "en", "retail"),
    ("No we're a bank", "en", "finance"),  # an interjection, not a denial
    ("we're a not-for-profit", "en", "public"),  # the negation is part of the phrase
])
def test_a_denied_option_is_not_the_answer(text: str, lang: str, option: str) -> None:
    assert accepted("sector", text, lang=lang) == option


@pytest.mark.parametrize(("question", "text", "lang", "option"), [
    ("sector", "not sure maybe retail", "en", "retail"),
    ("company_size", "je sais pas 30", "fr", "small"),
    ("company_size", "I don't know exactly, 200", "en", "medium"),
])
def test_a_hedge_is_not_a_denial(question: str, text: str, lang: str, option: str) -> None:
    assert accepted(question, text, lang=lang) == option
    assert accepted("sector", "not really a bank, more a consultancy") == "other"


def test_only_denials_are_asked_again() -> None:
    got = read("sector", "not finance")
    assert not got.accepted and got.suggestions == ()


@pytest.mark.parametrize("text", ["software for hospitals", "we sell software to banks",
                                  "logiciel pour les hôpitaux"])
def test_customers_are_not_the_sector(text: str) -> None:
    assert accepted("sector", text, lang="fr" if "pour" in text else "en") == "software"


def test_customers_alone_are_offered_not_accepted() -> None:
    got = read("sector", "we sell to hospitals")
    assert not got.accepted and got.suggestions == ("healthcare",)


@pytest.mark.parametrize(("text", "offered"), [
    ("software and finance", {"software", "finance"}),
    ("we're a university spin-off doing AI", {"education", "software"}),
])
def test_two_options_named_apart_are_asked_about(text: str, offered: set[str]) -> None:
    got = read("sector", text)
    assert not got.accepted and set(got.suggestions) == offered


@pytest.mark.parametrize(("text", "lang", "option"), [
    ("magasin de sport", "fr", "retail"),  # across "de", the first noun is the head
    ("lycée professionnel agricole", "fr", "education"),  # French: the first noun
    ("insurance software", "en", "software"),  # English: the last noun
    ("educaton tech", "en", "education"),  # "tech" after a sector is like "edtech"
])
def test_a_compound_is_read_by_its_head(text: str, lang: str, option: str) -> None:
    assert accepted("sector", text, lang=lang) == option


@pytest.mark.parametrize(("text", "lang", "option"), [
    ("we build tractors", "en", "manufacturing"),
    ("on fabrique des tracteurs", "fr", "manufacturing"),  # not "traiteur" misspelt
    ("we build websites for hotels", "en", "software"),  # the thing made decides
    ("nous fabriquons des logiciels", "fr", "software"),
    ("car maker", "en", "manufacturing"),
    ("AI and IT", "en", "software"),  # "and IT" is not a typo of "audit"
    ("grande surface", "fr", "retail"),
])
def test_what_a_company_makes_says_its_sector(text: str, lang: str, option: str) -> None:
    assert accepted("sector", text, lang=lang) == option


# --- quantities ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("a couple hundred", 200), ("une bonne centaine", 100), ("tens of thousands", 30000),
    ("just one of us", 1), ("one site, 45 people", 45), ("100 in France, 400 worldwide", 400),
    ("not 50, more like 80", 80),
])
def test_head_counts(text: str, value: float) -> None:
    quantity = parse_count(text)
    assert quantity is not None and quantity.value == value


@pytest.mark.parametrize(("text", "value"), [
    ("not 5k, more like 50k", 50000), ("pas 5k, plutôt 20k", 20000),
    ("une dizaine de milliers d'euros", 10000), ("a couple of thousand", 2000),
    ("about 2k per month", 24000), ("1 500 € par mois", 18000),
    ("one-off project, about 30k", 30000),
])
def test_amounts(text: str, value: float) -> None:
    quantity = parse_money(text)
    assert quantity is not None and quantity.value == value


def test_one_is_a_number_only_where_it_is_one() -> None:
    assert parse_money("we haven't set one") is None
    assert accepted("budget", "we haven't set one") == "unknown"
    assert parse_count("a team of one") is not None


def test_digits_of_an_amount() -> None:
    assert accepted("budget", "low six figures") == "gt_100k"
    five = parse_money("five figures")
    assert five is not None and (five.low, five.high) == (10000, 99999)


@pytest.mark.parametrize(("text", "offered"), [("around 50", ("20k_100k", "lt_5k")),
                                               ("5", ("5k_20k", "lt_5k"))])
def test_a_bare_small_budget_asks_whether_it_means_thousands(text: str,
                                                               offered: tuple[str, ...]) -> None:
    got = read("budget", text)
    assert not got.accepted and got.suggestions == offered
    assert accepted("budget", "500") == "lt_5k"  # hundreds are taken at face value


def test_the_next_one_after_a_denied_period() -> None:
    assert accepted("urgency", "not this quarter, next one") == "quarter"
    assert accepted("urgency", "pas cette semaine, la prochaine", lang="fr") == "now"


def test_a_condition_is_not_soon() -> None:
    assert not read("urgency", "as soon as the budget is approved").accepted
    assert accepted("urgency", "as soon as possible") == "now"


# --- dates relative to the message's day --------------------------------------------------


def on(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)


@pytest.mark.parametrize(("text", "lang", "day", "option"), [
    ("Q3", "en", "2026-03-10", "year"),
    ("Q3", "en", "2026-06-20", "quarter"),
    ("in March", "en", "2026-01-15", "quarter"),
    ("in March", "en", "2026-03-02", "now"),  # this March, already begun
    ("in March", "en", "2026-04-10", "year"),  # next March
    ("next spring", "en", "2026-11-05", "year"),
    ("this summer", "en", "2026-07-10", "now"),
    ("fin janvier", "fr", "2025-12-10", "quarter"),
    ("fin janvier", "fr", "2026-01-05", "now"),
    ("T4 2026", "fr", "2026-03-01", "year"),
    ("au printemps prochain", "fr", "2026-10-01", "year"),
    ("early Sept", "en", "2026-07-15", "quarter"),
    ("d'ici fin mars", "fr", "2026-02-01", "quarter"),
    ("not before summer", "en", "2026-02-01", "year"),
])
def test_dates_are_read_from_the_message_day(text: str, lang: str, day: str, option: str) -> None:
    assert accepted("urgency", text, lang=lang, now=on(day)) == option


def test_a_period_goes_to_the_band_of_its_middle_day() -> None:
    got = read("urgency", "2027", now=on("2026-06-01"))  # 214 to 578 days
    assert got.accepted and got.option_id == "exploring"
    wide = read("urgency", "next spring", now=on("2026-02-25"))  # 4 to 95 days
    assert wide.accepted and wide.option_id == "quarter"


def test_a_period_mostly_outside_its_middle_band_is_asked_about() -> None:
    weekly = TimeframeQuestion.model_validate({
        "id": "start", "type": "timeframe", "ask": {"en": "When?"},
        "bands": [{"id": f"{n}0_days", "below": 10 * n, "label": {"en": f"{n}0 days"}}
                  for n in (1, 2, 3)] + [{"id": "later", "label": {"en": "Later"}}]})
    got = understand(weekly, "in April", lang="en", now=on("2026-03-30"))  # 2 to 31 days
    assert not got.accepted and got.suggestions == ("20_days", "10_days", "later")


@pytest.mark.parametrize("text", ["we may start in a couple of weeks", "not in March",
                                  "sept personnes", "one of our priorities"])
def test_words_that_are_not_dates(text: str) -> None:
    quantity = parse_calendar_days(text, date(2026, 1, 10))
    assert quantity is None


@given(st.text(max_size=80), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)))
def test_dates_never_raise_and_are_never_in_the_past(text: str, today: date) -> None:
    quantity = parse_calendar_days(text, today)
    if quantity is not None:
        assert quantity.low <= quantity.high
        assert all(v >= 0 for v in (quantity.low, quantity.high) if not math.isinf(v))


_DATE_WORDS = ("31 30 29 1 15 2026 2027 2100 march fevrier feb avril may sept q1 q4 t3 third "
               "quarter trimestre spring ete rentree new year nouvel an next prochain early "
               "mid fin end of by before after not pas avant in en d ici the").split()


@given(st.lists(st.sampled_from(_DATE_WORDS), max_size=6),
       st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)))
def test_any_mix_of_date_words_reads_or_declines(tokens: list[str], today: date) -> None:
    quantity = parse_calendar_days(" ".join(tokens), today)  # "31 feb", "fin 2100", …
    if quantity is not None:
        assert quantity.low <= quantity.high


# --- what the prospect sees ----------------------------------------------------------------


def test_close_candidates_get_a_did_you_mean_with_both() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software and finance")
    assert t.asked == "sector" and not t.events_of(AnswerRecorded)
    tokens = [c.token for c in t.replies[-1].choices]
    assert tokens == ["a:sector:software", "a:sector:finance", "n:sector"]
    t.tap("Finance & insurance")
    recorded = t.events_of(AnswerRecorded)
    assert [(e.question_id, e.option_id) for e in recorded] == [("sector", "finance")]


def test_the_engine_reads_dates_as_of_the_message() -> None:
    early = Transcript(now=datetime(2026, 3, 10, 9, tzinfo=UTC))
    late = Transcript(now=datetime(2026, 6, 20, 9, tzinfo=UTC))
    for t in (early, late):
        t.say("/start")
        for answer in ("software", "40", "50k", "Q3"):
            t.say(answer)
    urgency = [[e.option_id for e in t.events_of(AnswerRecorded) if e.question_id == "urgency"]
               for t in (early, late)]
    assert urgency == [["year"], ["quarter"]]

"""conversations.quantities: head counts, money and delays typed in English and French."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.quantities import (
    _COMPILED,
    _FILLER_RE,
    MAX_VALUE,
    Kind,
    Quantity,
    _prepare,
    parse_count,
    parse_duration_days,
    parse_money,
)
from conversations.textnorm import normalise

INF = math.inf


def interval(q: Quantity | None) -> tuple[float, float] | None:
    return None if q is None else (q.low, q.high)


# --- counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", (12, 12)),
        ("we are 45", (45, 45)),
        ("5 people", (5, 5)),
        ("1,200", (1200, 1200)),
        ("1 200", (1200, 1200)),
        ("1.200", (1200, 1200)),
        ("2k employees", (2000, 2000)),
        ("1.5k", (1500, 1500)),
        ("eight", (8, 8)),
        ("twelve", (12, 12)),
        ("twenty-five", (25, 25)),
        ("one hundred and twenty", (120, 120)),
        ("a dozen", (12, 12)),
        ("a hundred", (100, 100)),
        ("cent", (100, 100)),
        ("trois cents", (300, 300)),
        ("vingt et un", (21, 21)),
        ("soixante-dix", (70, 70)),
        ("quatre-vingt-dix", (90, 90)),
        ("deux mille cinq cents", (2500, 2500)),
        ("just me", (1, 1)),
        ("moi seul", (1, 1)),
        ("solo", (1, 1)),
        ("under 20", (-INF, 19)),
        ("less than 50", (-INF, 49)),
        ("moins de 10 salariés", (-INF, 9)),
        ("up to 10", (-INF, 10)),
        ("50 max", (-INF, 50)),
        ("over 200", (201, INF)),
        ("more than 1000", (1001, INF)),
        ("plus de 5000", (5001, INF)),
        ("+50 salariés", (51, INF)),
        ("at least 300", (300, INF)),
        ("50+", (50, INF)),
        ("between 20 and 30", (20, 30)),
        ("between twenty and thirty", (20, 30)),
        ("20-30", (20, 30)),
        ("20 à 30", (20, 30)),
        ("de 20 à 30 personnes", (20, 30)),
        ("entre 30 et 40 salariés", (30, 40)),
        ("5 or 6", (5, 6)),
        ("founded in 2010, we are 45", (45, 45)),  # a year is not a head count
        ("10 years old, 30 people", (30, 30)),
        ("b2b, 40 people", (40, 40)),
    ],
)
def test_parse_count(text: str, expected: tuple[float, float]) -> None:
    assert interval(parse_count(text)) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("about 300 people", 300),
        ("environ 80 salariés", 80),
        ("~80", 80),
        ("roughly 40", 40),
        ("approx 15", 15),
        ("une vingtaine", 20),
        ("une dizaine", 10),
        ("une centaine", 100),
        ("a few hundred", 300),
        ("quelques centaines", 300),
        ("thousands of employees", 3000),
        ("30ish", 30),
    ],
)
def test_approximate_counts(text: str, value: float) -> None:
    quantity = parse_count(text)
    assert quantity is not None and quantity.approximate
    assert quantity.value == value


@pytest.mark.parametrize(
    "text",
    ["", "no idea", "lots", "-5", "-3 people", "1e309", "inf", "nan", "NaN people", "∞",
     "'; DROP TABLE leads;--", "<script>alert(1)</script>", "id=5", "3d printing", "5th floor",
     "covid19", "10 000 000 000 000",
     "9" * 400, "🙂" * 50, "x" * 10_000, "45 " * 2_000],
)
def test_parse_count_refuses(text: str) -> None:
    assert parse_count(text) is None


# --- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15k", (15_000, 15_000)),
        ("$50,000", (50_000, 50_000)),
        ("€250k", (250_000, 250_000)),
        ("3000 euros", (3000, 3000)),
        ("1.5M", (1_500_000, 1_500_000)),
        ("10 000 €", (10_000, 10_000)),
        ("10 000,50 €", (10_000.5, 10_000.5)),
        ("12.000", (12_000, 12_000)),
        ("2,5k", (2500, 2500)),
        ("15 k€", (15_000, 15_000)),
        ("20k€ HT", (20_000, 20_000)),
        ("10 000 € TTC", (10_000, 10_000)),
        ("15keur", (15_000, 15_000)),
        ("USD 75,000", (75_000, 75_000)),
        ("25K$", (25_000, 25_000)),
        ("£5k", (5000, 5000)),
        ("50 grand", (50_000, 50_000)),
        ("2 millions", (2_000_000, 2_000_000)),
        ("1,5 million", (1_500_000, 1_500_000)),
        ("cinquante mille euros", (50_000, 50_000)),
        ("50 mille", (50_000, 50_000)),
        ("half a million", (500_000, 500_000)),
        ("un demi million", (500_000, 500_000)),
        ("under 5k", (-INF, 4999.99)),
        ("moins de 5000€", (-INF, 4999.99)),
        ("100k+", (100_000, INF)),
        ("100 k€ ou plus", (100_000, INF)),
        ("plus de 100k", (100_000.01, INF)),
        ("between 20 and 30k", (20_000, 30_000)),
        ("5-8k", (5000, 8000)),
        ("5–20 k€", (5000, 20_000)),
        ("between 500 and 2k", (500, 2000)),  # the multiplier is not shared when it would invert
        ("€20k-€30k", (20_000, 30_000)),
        ("$20k - $30k", (20_000, 30_000)),
        ("budget is 30k per year, maybe 40k", (30_000, 30_000)),
    ],
)
def test_parse_money(text: str, expected: tuple[float, float]) -> None:
    assert interval(parse_money(text)) == expected


@pytest.mark.parametrize("text", ["no idea yet", "-5k", "15%", "1e309", "inf €", "nan k", "", "$"])
def test_parse_money_refuses(text: str) -> None:
    assert parse_money(text) is None


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("asap", (0, 0)),
        ("a.s.a.p.", (0, 0)),
        ("urgent", (0, 0)),
        ("right now", (0, 0)),
        ("dès que possible", (0, 0)),
        ("tout de suite", (0, 0)),
        ("tomorrow", (1, 1)),
        ("demain", (1, 1)),
        ("in one day", (1, 1)),
        ("next week", (7, 7)),
        ("la semaine prochaine", (7, 7)),
        ("in 2 weeks", (14, 14)),
        ("2 semaines", (14, 14)),
        ("quinze jours", (15, 15)),
        ("in 2 months", (60, 60)),
        ("dans 3 mois", (90, 90)),
        ("6m", (180, 180)),
        ("1 an", (365, 365)),
        ("in 18 months", (540, 540)),
        ("un an et demi", (547.5, 547.5)),
        ("1 an et 6 mois", (545, 545)),
        ("within 6 months", (-INF, 179)),
        ("within a month", (-INF, 29)),
        ("d'ici un mois", (-INF, 29)),
        ("d'ici 3 mois", (-INF, 89)),
        ("sous 15 jours", (-INF, 14)),
        ("3 mois max", (-INF, 90)),
        ("more than a year", (366, INF)),
        ("plus d'un an", (366, INF)),
        ("pas avant 6 mois", (181, INF)),
        ("2-3 weeks", (14, 21)),
        ("1 to 3 months", (30, 90)),
        ("3 à 6 mois", (90, 180)),
    ],
)
def test_parse_duration_days(text: str, expected: tuple[float, float]) -> None:
    assert interval(parse_duration_days(text)) == expected


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("next month", 30),
        ("this quarter", 45),
        ("d'ici la fin de l'année", 180),
        ("later this year", 180),
        ("next year", 400),
        ("in a few weeks", 21),
        ("a couple of weeks", 14),
        ("une quinzaine de jours", 15),
    ],
)
def test_approximate_durations(text: str, days: float) -> None:
    quantity = parse_duration_days(text)
    assert quantity is not None and quantity.approximate and quantity.value == days


@pytest.mark.parametrize(
    "text",
    [
        # No timeline is not a duration: the matcher reads these as the "exploring" option.
        "just looking", "no rush", "pas pressé", "no timeline", "someday", "one day", "un jour",
        # Negated urgency is not urgency.
        "pas tout de suite", "not right now", "not urgent", "nothing urgent",
        # Dates need a calendar; the engine has none.
        "in 2025", "Q3", "30",
        "-5 days", "1e309 days", "",
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    assert parse_duration_days(text) is None


# --- properties ----------------------------------------------------------------------------

PARSERS = (parse_count, parse_money, parse_duration_days)


@given(st.text(max_size=300))
def test_parsers_never_raise_and_stay_sane(text: str) -> None:
    for parse in PARSERS:
        quantity = parse(text)
        if quantity is not None:
            assert quantity.low <= quantity.high
            assert not math.isnan(quantity.value)
            ends = (quantity.low, quantity.high)
            assert all(0 <= v <= MAX_VALUE for v in ends if not math.isinf(v))


@given(st.lists(st.sampled_from(["-", "+", "k", "1", "0", ",", ".", " ", "e", "à", "to", "and",
                                 "€", "$", "under", "plus de", "environ", "mois", "weeks", "m",
                                 "vingt", "cent", "et", "a", "few", "%", "qlt", "ish"]),
                max_size=20))
def test_parsers_never_raise_on_number_like_soup(parts: list[str]) -> None:
    text = "".join(parts)
    for parse in PARSERS:
        parse(text)


FORMATS = ("{n}", "{n:,}", "{spaced}", "{dotted}", "we are {n}", "environ {spaced} salariés",
           "{n} people", "about {n:,} employees")


@given(st.integers(min_value=1, max_value=10**9), st.sampled_from(FORMATS))
def test_a_formatted_integer_round_trips(n: int, fmt: str) -> None:
    grouped = f"{n:,}"
    text = fmt.format(n=n, spaced=grouped.replace(",", " "), dotted=grouped.replace(",", "."))
    quantity = parse_count(text)
    assert quantity is not None and quantity.low == quantity.high == n


MONEY_FORMATS = ("{k}k", "{k}K", "{k} k€", "€{k}k", "{k}k€", "${k}k", "{k} 000 €", "{k}000 euros",
                 "{k} 000 EUR HT", "{k}.000", "{k} keur", "{k} thousand", "{k} mille euros")


@given(st.integers(min_value=1, max_value=999), st.sampled_from(MONEY_FORMATS))
def test_money_with_k_and_euro_variations_round_trips(k: int, fmt: str) -> None:
    quantity = parse_money(fmt.format(k=k))
    assert quantity is not None and quantity.low == quantity.high == k * 1000


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=9),
       st.sampled_from(["{k},{d}k", "{k}.{d}k", "{k},{d} k€", "€{k}.{d}K"]))
def test_money_decimals_with_k_round_trip(k: int, d: int, fmt: str) -> None:
    quantity = parse_money(fmt.format(k=k, d=d))
    assert quantity is not None and quantity.value == pytest.approx(k * 1000 + d * 100)


@given(st.integers(min_value=1, max_value=36),
       st.sampled_from([("in {n} days", 1), ("{n} jours", 1), ("in {n} weeks", 7),
                        ("dans {n} semaines", 7), ("in {n} months", 30), ("dans {n} mois", 30),
                        ("{n} years", 365), ("dans {n} ans", 365)]))
def test_durations_round_trip(n: int, case: tuple[str, int]) -> None:
    fmt, days = case
    quantity = parse_duration_days(fmt.format(n=n))
    assert quantity is not None and quantity.value == n * days


# Marker phrases, their pieces and what sits around them, to build answers that
# hold several markers, overlapping ones and near misses.
_KINDS: tuple[Kind, ...] = ("count", "money", "days")
_MARKER_PIECES = st.sampled_from([
    "about", "environ", "plus", "de", "plus de", "et plus", "ou moins", "plus ou moins", "more",
    "or", "less", "more or less", "than", "up to", "jusqu'a", "a partir de", "au moins", "max",
    "within", "d'ici", "apres", "not before", "and a half", "et demie", "une bonne", "a good",
    "centaine", "hundred", "half a", "une demi", "~", "<", ">", "+/-", "+", "-", "%", "pour cent",
    "15", "2,5", "k€", "jours", "months", "salariés", "we are", "x", "", " ",
])


@given(st.lists(_MARKER_PIECES, max_size=8), st.sampled_from(_KINDS))
def test_the_marker_shortcut_prepares_what_every_substitution_would(
        pieces: list[str], kind: Kind) -> None:
    text = normalise(" ".join(pieces))
    expected = _FILLER_RE.sub(r"\1 ", text.cleaned.replace("'", " ").replace('"', " "))
    for pattern, marker in _COMPILED[kind]:
        expected = pattern.sub(marker, expected)
    assert _prepare(text, kind) == expected

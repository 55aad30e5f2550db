"""Unit and property tests for the pure parts of reporting: attribution, campaigns file,
folding of unmatched answers, periods, spreadsheet-safe cells, percentiles, SVG escaping."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.reports.attribution import PAYLOAD, Attribution, parse_payload
from bot.reports.campaigns import CampaignFileError, campaign_for, load_campaigns, parse_campaigns
from bot.reports.cells import safe_cell
from bot.reports.periods import PeriodError, parse_period
from bot.reports.stats import percentile
from bot.reports.svg import Bar, bar_chart
from bot.reports.unmatched import count_unmatched, fold

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parent.parent / "docs"

# --- attribution -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("linkedin", Attribution("linkedin")),
        ("linkedin_q3", Attribution("linkedin_q3")),
        ("linkedin-q3launch", Attribution("linkedin", "q3launch")),
        ("linkedin-q3launch-paid", Attribution("linkedin", "q3launch", "paid")),
        ("google-black-friday-cpc", Attribution("google", "black-friday", "cpc")),
        ("LinkedIn-Q3Launch-Paid", Attribution("linkedin", "q3launch", "paid")),
        ("linkedin--paid", Attribution("linkedin", None, "paid")),
        ("-q3-", Attribution(None, "q3", None)),
        ("a---m", Attribution("a", None, "m")),
        ("", Attribution()),
        (None, Attribution()),
        ("has space", Attribution()),
        ("x" * 65, Attribution()),
    ],
)
def test_payload_convention(payload: str | None, expected: Attribution) -> None:
    assert parse_payload(payload) == expected


part = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)


@given(st.lists(part, min_size=1, max_size=3))
def test_up_to_three_parts_round_trip(parts: list[str]) -> None:
    got = parse_payload("-".join(parts))
    fields = [got.source, got.campaign, got.medium][: len(parts)]
    assert fields == parts


@given(st.from_regex(PAYLOAD, fullmatch=True))
def test_any_valid_payload_is_attributed_without_losing_a_letter(payload: str) -> None:
    got = parse_payload(payload)
    values = [v for v in (got.source, got.campaign, got.medium) if v]
    for value in values:
        assert value == value.lower() and value.strip("-") == value
    # Every non-hyphen character of the payload ends up in exactly one field.
    assert "".join(values).replace("-", "") == payload.lower().replace("-", "")
    if got.source is not None:
        assert "-" not in got.source
    if got.medium is not None:
        assert "-" not in got.medium


@given(st.text(max_size=80))
def test_parse_is_total(text: str) -> None:
    result = parse_payload(text)
    if not PAYLOAD.match(text):
        assert result == Attribution()


# --- campaigns file ---------------------------------------------------------------


def test_fixture_and_documented_example_load() -> None:
    fixture = load_campaigns(DATA / "campaigns.yaml")
    assert {c.label for c in fixture} >= {"linkedin/q3launch", "google/q3launch", "may"}
    example = load_campaigns(DOCS / "campaigns.example.yaml")
    assert example and all(c.currency for c in example)


def test_campaign_errors_name_the_line_and_the_fix() -> None:
    text = (
        "currency: EUR\n"
        "campaigns:\n"
        "  - id: q3launch\n"
        "    spend: -5\n"
        "  - id: may\n"
        "    spend: 10\n"
        "    budget: 3\n"
        "  - id: Bad Id\n"
        "    spend: 1\n"
        "    currency: euros\n"
    )
    with pytest.raises(CampaignFileError) as caught:
        parse_campaigns(text, filename="c.yaml")
    lines = [str(p) for p in caught.value.problems]
    assert any(l.startswith("c.yaml:4:") and "campaigns[0].spend" in l for l in lines), lines
    assert any(l.startswith("c.yaml:7:") and "unknown key" in l for l in lines), lines
    assert any(l.startswith("c.yaml:8:") and "letters, digits" in l for l in lines), lines
    assert any(l.startswith("c.yaml:10:") and "three-letter" in l for l in lines), lines


def test_duplicate_campaign_points_at_the_first() -> None:
    text = "campaigns:\n  - {id: a, spend: 1}\n  - {id: b, spend: 1}\n  - {id: a, spend: 2}\n"
    with pytest.raises(CampaignFileError) as caught:
        parse_campaigns(text, filename="c.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 4 and "line 2" in problem.message


@pytest.mark.parametrize(
    ("text", "where"),
    [("", "empty"), ("campaigns: [\n", "YAML syntax"), ("- a\n", "each campaign is a mapping"),
     ("42\n", "a list of campaigns, or a mapping"),
     ("campaigns: []\n", "at least 1")],
)
def test_broken_campaign_files(text: str, where: str) -> None:
    with pytest.raises(CampaignFileError, match=where):
        parse_campaigns(text, filename="c.yaml")


def test_missing_campaign_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="no such file"):
        load_campaigns(tmp_path / "nope.yaml")


def test_campaign_for_prefers_the_source_specific_entry() -> None:
    campaigns = parse_campaigns(
        "campaigns:\n  - {id: q3, source: linkedin, spend: 1}\n  - {id: q3, spend: 2}\n",
        filename="c.yaml",
    )
    assert campaign_for(parse_payload("linkedin-q3"), campaigns) == campaigns[0]
    assert campaign_for(parse_payload("google-q3"), campaigns) == campaigns[1]
    assert campaign_for(parse_payload("google"), campaigns) is None


# --- unmatched ------------------------------------------------------------------


def test_fold_ignores_case_accents_and_spaces() -> None:
    assert fold("  Dans 3   MOIS ") == fold("dans 3 mois") == "dans 3 mois"
    assert fold("Blörf\u00a0Zyx") == fold("blorf zyx")
    assert fold("ÉCOLE") == "ecole"


def test_count_unmatched_orders_by_question_then_frequency() -> None:
    texts = [
        ("budget", "pas sûr", 1), ("budget", "PAS SUR", 2), ("budget", "hmm", 3),
        ("sector", "bakery", 4), ("sector", "Bakery", 4), ("budget", "pas  sur", 3),
    ]
    got = count_unmatched(texts, question_order=["sector", "budget"])
    assert [(u.question, u.text, u.count, u.leads) for u in got] == [
        ("sector", "bakery", 2, 1),
        ("budget", "pas sur", 3, 3),
        ("budget", "hmm", 1, 1),
    ]
    assert count_unmatched(texts, only_question="budget", limit=1)[0].text == "pas sur"


# --- periods, cells, stats, svg --------------------------------------------------


def test_until_day_is_inclusive_and_moments_are_utc() -> None:
    since, until = parse_period("2024-05-01", "2024-05-02")
    assert since == datetime(2024, 5, 1, tzinfo=UTC)
    assert until == datetime(2024, 5, 3, tzinfo=UTC)
    _, until = parse_period(None, "2024-05-02T10:30+02:00")
    assert until == datetime(2024, 5, 2, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(("since", "until"), [("yesterday", None), ("2024-13-01", None),
                                              ("2024-05-02", "2024-05-01")])
def test_bad_periods(since: str, until: str | None) -> None:
    with pytest.raises(PeriodError):
        parse_period(since, until)


@pytest.mark.parametrize("text", ["=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\r=1"])
def test_formula_starts_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_safe_cells_leave_the_rest() -> None:
    assert safe_cell("Ada") == "Ada" and safe_cell(-3) == -3 and safe_cell(None) == ""


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=50))
def test_median_matches_statistics(values: list[float]) -> None:
    assert percentile(values, 0.5) == pytest.approx(statistics.median(values))
    p90 = percentile(values, 0.9)
    assert p90 is not None and min(values) <= p90 <= max(values)


def test_percentile_known_values() -> None:
    assert percentile([], 0.5) is None
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


def test_svg_labels_are_escaped() -> None:
    svg = bar_chart("x", "<t>", [Bar("<script>alert(1)</script>", 1, "a&b")])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg

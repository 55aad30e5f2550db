"""The script loader: every mistake a marketer can make is reported at file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.loader import ScriptError, load_script, parse_script

DEFAULT = Path(__file__).resolve().parents[1] / "conversations" / "scripts" / "default.yaml"

MINIMAL = """\
id: mini
languages: [en, fr]
greeting: {en: "Hi {first_name}", fr: "Salut {first_name}"}
questions:
  - id: sector
    type: choice
    ask: {en: "Sector?", fr: "Secteur ?"}
    options:
      - id: software
        label: {en: Software, fr: Logiciel}
        points: {fit: 20}
      - id: other
        label: {en: Other, fr: Autre}
  - id: size
    type: number
    ask: {en: "Size?", fr: "Taille ?"}
    bands:
      - {id: small, max: 50, label: {en: Small, fr: Petite}}
      - {id: big, label: {en: Big, fr: Grande}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        parse_script(text, filename="s.yaml")
    return [str(p) for p in caught.value.problems]


def test_default_script_loads_with_pinned_ids() -> None:
    loaded = load_script(DEFAULT)
    script = loaded.script
    assert script.question_ids()[:4] == ("sector", "company_size", "budget", "urgency")
    ids = {q.id: [o.id for o in getattr(q, "options", ())] for q in script.questions}
    assert ids["sector"] == [
        "software", "finance", "healthcare", "retail", "manufacturing", "education", "public",
        "other",
    ]
    bands = {q.id: [b.id for b in getattr(q, "bands", ())] for q in script.questions}
    assert bands["company_size"] == ["micro", "small", "medium", "large", "enterprise"]
    assert bands["budget"] == ["lt_5k", "5k_20k", "20k_100k", "gt_100k"]
    assert ids["budget"] == ["unknown"]
    assert bands["urgency"] == ["now", "quarter", "year", "exploring"]
    assert re.fullmatch(r"1\+[0-9a-f]{12}", loaded.version)


def test_minimal_script_parses() -> None:
    script = parse_script(MINIMAL, filename="s.yaml")
    assert script.question("size").band_for(12).id == "small"  # type: ignore[union-attr]


def test_yaml_syntax_error_has_line() -> None:
    found = problems(MINIMAL + "  - id: [unclosed\n")
    assert found and found[0].startswith("s.yaml:21:") and "YAML syntax error" in found[0]


def test_duplicate_key_is_rejected_at_its_line() -> None:
    text = MINIMAL.replace('ask: {en: "Size?", fr: "Taille ?"}',
                           'ask: {en: "Size?", fr: "Taille ?"}\n    type: choice')
    found = problems(text)
    assert any(p.startswith("s.yaml:17:5") and "duplicate key 'type'" in p for p in found), found


def test_wrong_reference_names_the_line_and_the_choices() -> None:
    text = MINIMAL + "scoring:\n  disqualify_when: {answer: {sector: [banking]}}\n"
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith("s.yaml:21:")
    assert "scoring.disqualify_when.answer.sector" in found[0]
    assert "no option 'banking'" in found[0] and "other, software" in found[0]


def test_ids_too_long_together_for_a_telegram_button_are_refused() -> None:
    long_question, long_option = "q" * 30, "o" * 32  # "a:<q>:<o>" would be 65 bytes
    text = MINIMAL.replace("  - id: sector\n", f"  - id: {long_question}\n").replace(
        "      - id: software\n", f"      - id: {long_option}\n")
    found = problems(text)
    assert len(found) == 1
    assert "questions[0].options[0].id" in found[0]
    assert "65 bytes" in found[0] and "at most 64" in found[0]
    # One character less, and the button fits.
    parse_script(text.replace(long_option, long_option[:-1]), filename="s.yaml")


def test_unknown_question_in_goto() -> None:
    text = MINIMAL.replace("    type: number\n", "    type: number\n    next: [{goto: budget}]\n")
    found = problems(text)
    assert any("questions[1].next[0].goto" in p and "no such question" in p for p in found)


def test_missing_translation() -> None:
    found = problems(MINIMAL.replace('fr: "Secteur ?"', 'de_: "x"').replace("de_", "xx"))
    assert any("s.yaml:7:" in p and "unknown language 'xx'" in p for p in found), found
    found = problems(MINIMAL.replace(', fr: "Secteur ?"', ""))
    assert found == ["s.yaml:7:5  questions[0].ask: missing the fr text; the script declares "
                     "languages en, fr"]


def test_type_error_points_at_the_value() -> None:
    found = problems(MINIMAL.replace("points: {fit: 20}", "points: {fit: lots}"))
    assert any(p.startswith("s.yaml:11:") and "questions[0].options[0].points.fit" in p
               for p in found), found


def test_unknown_question_type_and_unknown_key() -> None:
    found = problems(MINIMAL.replace("type: number", "type: numbr"))
    assert found == ["s.yaml:15:5  questions[1].type: unknown question type 'numbr'; use one "
                     "of choice, number, money, timeframe, text, email, phone"]
    found = problems(MINIMAL.replace("    type: number\n", "    type: number\n    colour: red\n"))
    assert any("questions[1].colour: unknown key" in p and p.startswith("s.yaml:16:5")
               for p in found), found


def test_bands_must_be_ordered() -> None:
    found = problems(MINIMAL.replace(
        "      - {id: big,", "      - {id: mid, max: 20, label: {en: Mid, fr: Moyenne}}\n"
        "      - {id: big,"))
    assert any("ends at 20, not above the previous band's end 50" in p for p in found), found


def test_unreachable_question_and_loop_without_exit() -> None:
    text = MINIMAL.replace("    type: choice\n", "    type: choice\n    next: [{goto: end}]\n")
    found = problems(text)
    assert any("questions[1].id" in p and "can never be asked" in p for p in found), found
    text = MINIMAL.replace("    type: choice\n", "    type: choice\n    next: [{goto: size}]\n")
    text = text.replace("    type: number\n", "    type: number\n    next: [{goto: sector}]\n")
    found = problems(text)
    assert any("form a loop with no way out" in p for p in found), found


def test_loop_with_an_exit_is_fine() -> None:
    text = MINIMAL.replace(
        "    type: number\n",
        "    type: number\n    next:\n      - {when: {answer: {size: [small]}}, goto: sector}\n",
    )
    parse_script(text, filename="s.yaml")


def test_implicit_booleans_and_dates_stay_text() -> None:
    text = MINIMAL.replace("label: {en: Other, fr: Autre}", "label: {en: no, fr: 2024-01-01}")
    script = parse_script(text, filename="s.yaml")
    other = script.question("sector").options[1]  # type: ignore[union-attr]
    assert other.label.root == {"en": "no", "fr": "2024-01-01"}


def test_unknown_placeholder() -> None:
    found = problems(MINIMAL.replace('"Hi {first_name}"', '"Hi {name}"'))
    assert any("unknown placeholder {name}" in p for p in found)


def test_missing_file_and_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="no such file"):
        load_script(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(ScriptError, match="not UTF-8"):
        load_script(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ScriptError, match="empty"):
        load_script(empty)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_script_or_a_script_error(text: str) -> None:
    try:
        parse_script(text, filename="fuzz.yaml")
    except ScriptError as exc:
        assert exc.problems and all(str(p).startswith("fuzz.yaml:") for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(MINIMAL) - 1), st.sampled_from(["", ":", "- ", "{", "\t", "  "]))
def test_mutated_scripts_never_crash_the_loader(position: int, insert: str) -> None:
    text = MINIMAL[:position] + insert + MINIMAL[position:]
    try:
        parse_script(text, filename="m.yaml")
    except ScriptError as exc:
        for problem in exc.problems:
            assert 1 <= problem.line <= text.count("\n") + 2

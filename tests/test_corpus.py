"""Accuracy of free-text matching on answers prospects write, with the default script.

Two sets of ``{"question", "text", "option"[, "lang"]}`` lines:

* the shared development corpus (``shared/corpus/answers-dev.jsonl`` beside the
  repository), a sample of real answers;
* our own held-out set (``tests/data/answers-heldout.jsonl``): different wordings,
  typos, French, units and ranges, written without looking at the dev corpus'
  answers, to check that synonyms and rules generalise rather than memorise.
  ``"option": null`` rows are answers that must *not* be accepted.

An answer counts as right when the matcher's option is the expected one *and*
its confidence reaches ACCEPT_CONFIDENCE (a "did you mean" is not a success).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conversations.dsl import Script
from conversations.loader import load_script
from conversations.matching import ACCEPT_CONFIDENCE, match_answer

REPO = Path(__file__).resolve().parents[1]
DEV_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "answers-dev.jsonl"
HELDOUT = Path(__file__).resolve().parent / "data" / "answers-heldout.jsonl"
DEFAULT_SCRIPT = REPO / "conversations" / "scripts" / "default.yaml"


@dataclass(frozen=True)
class Case:
    line: int
    question: str
    text: str
    option: str | None
    lang: str


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            row = json.loads(raw)
            cases.append(Case(number, row["question"], row["text"], row["option"],
                              row.get("lang", "en")))
    return cases


def misses(script: Script, cases: list[Case]) -> list[str]:
    wrong = []
    for case in cases:
        match = match_answer(script.question(case.question), case.text, lang=case.lang)
        got = match.option_id if match.confidence >= ACCEPT_CONFIDENCE else None
        if got != case.option:
            wrong.append(f"line {case.line}: {case.question} {case.text!r}: expected "
                         f"{case.option}, got {match.option_id} ({match.confidence:.2f})")
    return wrong


def check_accuracy(path: Path, minimum: float) -> None:
    script = load_script(DEFAULT_SCRIPT).script
    cases = read_cases(path)
    wrong = misses(script, cases)
    accuracy = 1 - len(wrong) / len(cases)
    print(f"\n{path.name}: {accuracy:.1%} of {len(cases)} answers")
    for line in wrong:
        print("  miss", line)
    assert accuracy >= minimum, "\n".join(wrong)


def test_dev_corpus_accuracy() -> None:
    if not DEV_CORPUS.exists():
        pytest.skip(f"the shared dev corpus is not at {DEV_CORPUS} "
                    "(CI copies shared/ beside the clone)")
    check_accuracy(DEV_CORPUS, 0.97)


def test_heldout_accuracy() -> None:
    check_accuracy(HELDOUT, 0.95)


def test_heldout_is_large_varied_and_new() -> None:
    cases = read_cases(HELDOUT)
    assert len(cases) >= 120
    assert {c.question for c in cases} == {"sector", "company_size", "budget", "urgency"}
    assert sum(c.lang == "fr" for c in cases) >= 40
    assert any(c.option is None for c in cases)
    if DEV_CORPUS.exists():
        dev = {(c.question, c.text.casefold()) for c in read_cases(DEV_CORPUS)}
        copies = [c.text for c in cases if (c.question, c.text.casefold()) in dev]
        assert not copies, f"held-out answers copied from the dev corpus: {copies}"

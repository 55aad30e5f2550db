"""Accuracy of free-text understanding on answers prospects write, with the default script.

Three sets of typed answers, read through :func:`conversations.understanding.understand`
exactly as the engine reads a message:

* the shared development corpus (``shared/corpus/answers-dev.jsonl`` beside the
  repository), a sample of real answers: ``{"question", "text", "option"}``;
* the first held-out set (``tests/data/answers-heldout.jsonl``), same format:
  different wordings, typos, French, units and ranges; ``"option": null`` rows
  must *not* be accepted;
* the second held-out set (``tests/data/answers-heldout-2.jsonl``), written before
  the matcher learnt negation, dates and approximate quantities: each row lists
  the options a person would accept (``"accept"``), whether asking back is fine
  because the answer is genuinely ambiguous (``"clarify"``), and the day the
  message was sent (``"now"``) for answers such as "Q3" or "fin janvier".

An answer is *right* when an acceptable option is accepted, or when the bot asks
("did you mean…?" or the question again) and the row allows it. It is *accepted
wrongly* when the bot records an option the row does not list, without asking:
the error a sales rep would see on the card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path

import pytest

from conversations.dsl import Script
from conversations.loader import load_script
from conversations.understanding import understand

REPO = Path(__file__).resolve().parents[1]
DEV_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "answers-dev.jsonl"
HELDOUT = Path(__file__).resolve().parent / "data" / "answers-heldout.jsonl"
HELDOUT_2 = Path(__file__).resolve().parent / "data" / "answers-heldout-2.jsonl"
DEFAULT_SCRIPT = REPO / "conversations" / "scripts" / "default.yaml"
DEFAULT_DAY = date(2026, 3, 2)  # rows without a date were written on a Monday in March

MIN_RIGHT = 0.97
MAX_ACCEPTED_WRONGLY = 0.01


@dataclass(frozen=True)
class Case:
    line: int
    question: str
    text: str
    accept: frozenset[str]
    clarify: bool  # asking back is a right answer
    lang: str
    day: date


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        if "accept" in row:
            accept, clarify = frozenset(row["accept"]), bool(row["clarify"])
        else:  # {"option": id} must be accepted; {"option": null} must not be
            option = row["option"]
            accept, clarify = frozenset({option} if option else ()), option is None
        day = date.fromisoformat(row["now"]) if "now" in row else DEFAULT_DAY
        cases.append(Case(number, row["question"], row["text"], accept, clarify,
                          row.get("lang", "en"), day))
    return cases


@dataclass(frozen=True)
class Report:
    total: int
    right: int
    accepted_wrongly: int
    misses: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.right / self.total

    @property
    def wrong_share(self) -> float:
        return self.accepted_wrongly / self.total


@cache
def default_script() -> Script:
    return load_script(DEFAULT_SCRIPT).script


def measure(path: Path) -> Report:
    script = default_script()
    right = wrong = 0
    misses = []
    for case in read_cases(path):
        now = datetime.combine(case.day, time(10), tzinfo=UTC)
        got = understand(script.question(case.question), case.text, lang=case.lang, now=now)
        if got.accepted and got.option_id in case.accept:
            right += 1
        elif not got.accepted and case.clarify:
            right += 1
        else:
            wrong += got.accepted
            what = f"accepted {got.option_id}" if got.accepted else (
                f"asked ({', '.join(got.suggestions) or 'again'})")
            misses.append(f"line {case.line}: {case.question} {case.text!r} ({case.day}): "
                          f"{what} ({got.confidence:.2f}); acceptable: "
                          f"{', '.join(sorted(case.accept)) or 'none'}"
                          f"{' or asking' if case.clarify else ''}")
    return Report(len(read_cases(path)), right, wrong, tuple(misses))


def check(path: Path) -> None:
    report = measure(path)
    print(f"\n{path.name}: {report.accuracy:.1%} right of {report.total}, "
          f"{report.wrong_share:.1%} accepted wrongly")
    for line in report.misses:
        print("  miss", line)
    assert report.accuracy >= MIN_RIGHT, "\n".join(report.misses)
    assert report.wrong_share <= MAX_ACCEPTED_WRONGLY, "\n".join(report.misses)


def test_dev_corpus_accuracy() -> None:
    if not DEV_CORPUS.exists():
        pytest.skip(f"the shared dev corpus is not at {DEV_CORPUS} "
                    "(CI copies shared/ beside the clone)")
    check(DEV_CORPUS)


def test_heldout_accuracy() -> None:
    check(HELDOUT)


def test_second_heldout_accuracy() -> None:
    check(HELDOUT_2)


def dev_answers() -> set[tuple[str, str]]:
    if not DEV_CORPUS.exists():
        return set()
    return {(c.question, c.text.casefold()) for c in read_cases(DEV_CORPUS)}


def test_heldout_is_large_varied_and_new() -> None:
    cases = read_cases(HELDOUT)
    assert len(cases) >= 120
    assert {c.question for c in cases} == {"sector", "company_size", "budget", "urgency"}
    assert sum(c.lang == "fr" for c in cases) >= 40
    assert any(not c.accept for c in cases)
    copies = [c.text for c in cases if (c.question, c.text.casefold()) in dev_answers()]
    assert not copies, f"held-out answers copied from the dev corpus: {copies}"


def test_second_heldout_is_large_varied_and_new() -> None:
    cases = read_cases(HELDOUT_2)
    assert len(cases) >= 150
    assert {c.question for c in cases} == {"sector", "company_size", "budget", "urgency"}
    assert sum(c.lang == "fr" for c in cases) >= 60
    assert sum(c.clarify for c in cases) >= 20  # genuinely ambiguous answers
    assert len({c.day for c in cases if c.question == "urgency"}) >= 10  # dates matter
    assert all(c.accept or c.clarify for c in cases)
    earlier = dev_answers() | {(c.question, c.text.casefold()) for c in read_cases(HELDOUT)}
    copies = [c.text for c in cases if (c.question, c.text.casefold()) in earlier]
    assert not copies, f"answers copied from the other sets: {copies}"

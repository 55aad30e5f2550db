"""Script files cannot exhaust the process: aliases refused, nesting and size capped, loops checked without recursion.

A 400-byte YAML alias bomb used to take 26 s and 3.2 GB inside `serve`, and a
1,000-question script ended in RecursionError. `leadbot script check` now refuses
each with one line naming the file, the line and the fix; a live publish of the
same file keeps the last good script and logs the one "has errors" line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.source import DatabaseScriptSource
from conversations.loader import ScriptError, parse_script
from conversations.validation import _cycles
from storage.unit_of_work import UnitOfWork
from tests.test_cli import DEFAULT, leadbot

BOMB = "id: x\ngreeting: hi\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def _questions(count: int) -> str:
    return "id: many\ngreeting: {en: hi}\nquestions:\n" + "".join(
        f"  - id: q{i}\n    type: text\n    ask: {{en: 'Question {i}?'}}\n" for i in range(count))


HOSTILE_SCRIPTS = [
    ("alias bomb", BOMB, "YAML aliases (*a) are not allowed"),
    ("1,000-level flow nesting", "id: x\ngreeting: hi\nquestions: " + "[" * 1000 + "]" * 1000,
     "nested more than 40 levels deep"),
    ("1,000-level block nesting", "id: x\ngreeting: hi\nq:\n" + "".join(
        " " * (i + 1) + f"k{i}:\n" for i in range(1000)), "nested more than 40 levels deep"),
    ("1,000 questions", _questions(1000), "questions: 1000 items, but at most 100 are allowed"),
    ("an alias of a mapping", "id: x\ngreeting: &g {en: hi}\nother: *g\n", "YAML aliases (*g)"),
]


@pytest.mark.parametrize(("case", "text", "message"), HOSTILE_SCRIPTS,
                         ids=[case for case, _, _ in HOSTILE_SCRIPTS])
def test_script_check_refuses_with_one_clear_line(
    tmp_path: Path, case: str, text: str, message: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = leadbot("script", "check", str(path))
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert len(problems) == 1, result.stderr
    assert message in problems[0]
    assert "Traceback" not in result.stderr and "Error:" not in result.stdout


def test_options_are_capped_too() -> None:
    options = "".join(f"      - {{id: o{i}, label: {{en: 'Option {i}'}}}}\n" for i in range(25))
    text = ("id: x\ngreeting: {en: hi}\nquestions:\n  - id: q\n    type: choice\n"
            "    ask: {en: 'Which?'}\n    options:\n" + options)
    with pytest.raises(ScriptError, match="25 items, but at most 20 are allowed"):
        parse_script(text, filename="x.yaml")


def test_a_loop_of_a_thousand_questions_is_found_without_recursion() -> None:
    graph = {f"q{i}": [f"q{i + 1}"] for i in range(5000)}
    graph["q4999"] = ["q0"]
    assert _cycles(graph) == [set(graph)]


def test_publishing_an_alias_bomb_live_keeps_the_last_good_script(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, slack_db: Any
) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(DEFAULT.read_text())
    now = [0.0]
    source = DatabaseScriptSource(ScriptLifecycle(slack_db), lambda: UnitOfWork(slack_db),
                                  file=path, bundled=DEFAULT, interval=1.0,
                                  monotonic=lambda: now[0])
    source.start()
    good = source.current().version
    path.write_text(BOMB)
    stat = path.stat()  # a distinct mtime even on coarse file-system clocks
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    now[0] += 5
    assert source.current().version == good
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "has 1 error(s)" in record.getMessage() and "YAML aliases" in record.getMessage()
    assert record.exc_info is None

"""Check a script's text as `leadbot script check` does: errors by line, then its examples.

Pure (no database): the lifecycle service, the CLI and the workspace all use this.
"""

from __future__ import annotations

import hashlib

import yaml

from bot.lifecycle.models import Problem
from conversations.dsl import Script
from conversations.loader import MAX_SCRIPT_BYTES, ScriptError, parse_script
from conversations.simulation import check_example
from conversations.strict_yaml import StrictLoader


def content_hash(yaml_text: str) -> str:
    return hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()


def parse_or_problems(yaml_text: str, *, filename: str) -> Script | list[Problem]:
    """The script, or every problem the loader found (same lines and messages as the CLI)."""
    if len(yaml_text.encode("utf-8")) > MAX_SCRIPT_BYTES:
        return [Problem(line=1, column=1, path="",
                        message="the text is over 1 MB; is it a script?")]
    try:
        return parse_script(yaml_text, filename=filename)
    except ScriptError as exc:
        return [Problem(line=p.line, column=p.column, path=p.path, message=p.message)
                for p in exc.problems]


def example_problems(script: Script, yaml_text: str) -> list[Problem]:
    """One problem per failing expectation of the script's examples, at the example's line."""
    problems = []
    lines = _example_lines(yaml_text)
    for index, example in enumerate(script.examples):
        name = example.name or f"examples[{index}]"
        line, column = lines[index] if index < len(lines) else (1, 1)
        for failure in check_example(script, example):
            problems.append(Problem(line=line, column=column, path=f"examples[{index}]",
                                    message=f"example {name!r}: {failure}"))
    return problems


def _example_lines(yaml_text: str) -> list[tuple[int, int]]:
    """Line and column of each item of the top-level `examples:` list."""
    root = yaml.compose(yaml_text, Loader=StrictLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "examples" and isinstance(value, yaml.SequenceNode):
            return [(item.start_mark.line + 1, item.start_mark.column + 1) for item in value.value]
    return []

"""Load a script from YAML with source positions, and report errors as `file:line:col  path: message`.

YAML is composed into nodes (not `safe_load`ed) so each value keeps its line;
duplicate keys are errors; only `true`/`false` are booleans ("no", "on" stay
text: a Norwegian country code or an option called "no" must not turn into
False) and dates stay text. Pydantic errors are mapped back to the node they
are about; cross-reference checks (`conversations.validation`) are too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from conversations.dsl import MAX_QUESTIONS, Script
from conversations.strict_yaml import (
    MAX_NESTING,
    NESTED_TOO_DEEPLY,
    ScriptLimitExceeded,
    StrictLoader,
    compose,
)

PathKey = tuple[str | int, ...]
MAX_SCRIPT_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Problem:
    """One error a marketer can act on."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}  {where}{self.message}"


class ScriptError(Exception):
    """The script cannot be used; `problems` lists every error found, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class LoadedScript:
    script: Script
    version: str  # content hash: conversations record which exact text they ran
    path: str
    example_lines: tuple[int, ...] = ()  # the line each of `script.examples` starts on


class PositionedBuilder:
    """Turns a composed node tree into plain data, recording where each value came from."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._constructor = StrictLoader("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int)):
                    self._problem(key_node, path, "a key must be a plain word")
                    continue
                key = str(key)
                if key in result:
                    first = self.positions.get((*path, key), (0, 0))
                    self._problem(
                        key_node,
                        (*path, key),
                        f"duplicate key {key!r} (first at line {first[0]}); keep one",
                    )
                    continue
                result[key] = self.build(value_node, (*path, key))
                # Point errors about a key at the key itself, not its value.
                self.positions[(*path, key)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                self.positions[(*path, key, "<value>")] = (
                    value_node.start_mark.line + 1,
                    value_node.start_mark.column + 1,
                )
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def _problem(self, node: yaml.Node, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(
                self.filename,
                node.start_mark.line + 1,
                node.start_mark.column + 1,
                render_path(path),
                message,
            )
        )


def render_path(path: PathKey) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def locate(positions: dict[PathKey, tuple[int, int]], path: PathKey) -> tuple[PathKey, int, int]:
    """The deepest prefix of `path` present in the file, and its line and column."""
    for end in range(len(path), -1, -1):
        prefix = path[:end]
        if prefix in positions:
            line, column = positions[prefix]
            return prefix, line, column
    return (), 1, 1


def _data_path(loc: tuple[str | int, ...], data: Any) -> PathKey:
    """Drop the parts of a pydantic error location that are not in the data.

    Discriminated unions add the tag (`questions.2.choice.options`) and root
    models add `root`; neither is something a marketer wrote.
    """
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:  # noqa: SIM114 (mypy narrows each)
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and part in ("root", "not_"):
            if part == "not_" and "not" in current:
                path.append("not")
                current = current["not"]
            continue
        elif isinstance(current, dict) and isinstance(part, str) and _is_union_tag(part):
            continue
        else:
            path.append(part)
            current = None
    return tuple(path)


def _is_union_tag(part: str) -> bool:
    return part in {"choice", "number", "money", "timeframe", "text", "email", "phone"} or (
        "[" in part or part.startswith("function-") or part in ("str", "dict[str,str]", "list[str]")
    )


def _friendly(message: str) -> str:
    if message.startswith("Input tag ") and "does not match any of the expected tags" in message:
        tag = message.split("'")[1]
        expected = message.split("expected tags: ", 1)[1].replace("'", "")
        return f"unknown question type {tag!r}; use one of {expected}"
    if message.startswith("Unable to extract tag using discriminator"):
        return "missing `type:`; use one of choice, number, money, timeframe, text, email, phone"
    message = message.removeprefix("Value error, ")
    if message == "Extra inputs are not permitted":
        return "unknown key; check its spelling or remove it"
    if message == "Field required":
        return "missing; add it"
    too_many = re.match(r"(?:Tuple|List) should have at most (\d+) items? after validation, not (\d+)",
                        message)
    if too_many:
        return (f"{too_many[2]} items, but at most {too_many[1]} are allowed; "
                "split it or remove some")
    return message


def flow_nesting(text: str) -> tuple[int, int, int]:
    """(deepest `[`/`{` nesting, its line, its column), quoted text and comments skipped.

    PyYAML's scanner slows down quadratically with flow depth before the composer
    can refuse it, so flow nesting is measured on the text first (a linear pass).
    """
    depth = deepest = 0
    where = (1, 1)
    line, column = 1, 0
    quote: str | None = None
    comment = False
    previous = "\n"
    for char in text:
        column += 1
        if char == "\n":
            line, column, comment = line + 1, 0, False
            if quote is None:
                previous = char
                continue
        if comment:
            continue
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"" and (previous in " \t\n[{,:" ):
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, (line, column)
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return deepest, *where


def parse_script(text: str, *, filename: str) -> Script:
    """Parse and validate a script; raise ScriptError listing every problem found."""
    return _parse(text, filename=filename)[0]


def _parse(text: str, *, filename: str) -> tuple[Script, dict[PathKey, tuple[int, int]]]:
    """The script and where each of its values is in the file.

    Problems of independent kinds are reported together: duplicate keys alongside
    the model's errors, and the cross-checks whenever the model itself is valid.
    """
    depth, line, column = flow_nesting(text)
    if depth > MAX_NESTING:
        raise ScriptError([Problem(filename, line, column, "", NESTED_TOO_DEEPLY)])
    try:
        root = compose(text)
    except ScriptLimitExceeded as exc:
        raise ScriptError([Problem(filename, exc.line, exc.column, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ScriptError(
            [Problem(filename, line, column, "", f"YAML syntax error: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ScriptError([Problem(filename, 1, 1, "", f"YAML error: {exc}")]) from None
    if root is None:
        raise ScriptError([Problem(filename, 1, 1, "", "the file is empty; start with `id:`")])
    _refuse_too_many_questions(root, filename)
    builder = PositionedBuilder(filename)
    try:
        data = builder.build(root, ())
    except yaml.YAMLError as exc:
        raise ScriptError([Problem(filename, 1, 1, "", f"YAML error: {exc}")]) from None
    if not isinstance(data, dict):
        raise ScriptError([
            *builder.problems,
            Problem(filename, 1, 1, "", "a script is a mapping of keys (id:, questions:, …)"),
        ])
    # A duplicate key keeps its first value: the rest of the file is still checked.
    problems = list(builder.problems)
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = _data_path(tuple(error["loc"]), data)
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                path = (*path, "type")
            _, line, column = locate(builder.positions, path)
            problems.append(
                Problem(filename, line, column, render_path(path), _friendly(error["msg"]))
            )
        raise ScriptError(_unique(problems)) from None

    from conversations.validation import cross_check  # validation imports this module

    problems += [
        Problem(filename, *locate(builder.positions, path)[1:], render_path(path), message)
        for path, message in cross_check(script, data)
    ]
    if problems:
        raise ScriptError(_unique(problems))
    return script, builder.positions


def _refuse_too_many_questions(root: yaml.Node, filename: str) -> None:
    """Refuse an oversized `questions:` list on the composed nodes, before building each one."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value == "questions" and isinstance(value, yaml.SequenceNode) \
                and len(value.value) > MAX_QUESTIONS:
            raise ScriptError([Problem(
                filename, key.start_mark.line + 1, key.start_mark.column + 1, "questions",
                f"{len(value.value)} items, but at most {MAX_QUESTIONS} are allowed; "
                "split it or remove some")])


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.line, problem.column, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


class UnreadableFile(Exception):
    """A YAML file that cannot even be read as text; `problem` says why and what to do."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_utf8(path: Path, *, max_bytes: int, too_big: str) -> tuple[bytes, str]:
    """The file's bytes and its UTF-8 text; raises UnreadableFile with a line-1 problem."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(Problem(name, 1, 1, "", "no such file; check the path")) from None
    except OSError as exc:
        message = f"cannot read the file ({exc.strerror})"
        raise UnreadableFile(Problem(name, 1, 1, "", message)) from None
    if len(raw) > max_bytes:
        raise UnreadableFile(Problem(name, 1, 1, "", too_big))
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        raise UnreadableFile(Problem(name, 1, 1, "", message)) from None


def load_script(path: str | Path) -> LoadedScript:
    """Read, parse and validate a script file."""
    path = Path(path)
    name = str(path)
    try:
        raw, text = read_utf8(
            path, max_bytes=MAX_SCRIPT_BYTES, too_big="the file is over 1 MB; is it a script?"
        )
    except UnreadableFile as exc:
        raise ScriptError([exc.problem]) from None
    script, positions = _parse(text, filename=name)
    version = script.version or ""
    digest = hashlib.sha256(raw).hexdigest()[:12]
    lines = tuple(positions.get(("examples", i), (0, 0))[0] for i in range(len(script.examples)))
    return LoadedScript(script=script, version=f"{version}+{digest}" if version else digest,
                        path=name, example_lines=lines)

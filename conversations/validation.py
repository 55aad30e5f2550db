"""Cross-checks a script needs beyond its shape: references, reachability, loops, translations.

Each finding is a (path in the YAML data, message) pair; the loader turns the
path into a file line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from conversations import payloads
from conversations.dsl import Script, options_of
from conversations.dsl_base import Condition, Text

Finding = tuple[tuple[str | int, ...], str]
END = "end"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
ALLOWED_PLACEHOLDERS = {"first_name"}


def cross_check(script: Script, data: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    findings += _unique_ids(script)
    findings += _references(script)
    findings += _translations(script, data)
    findings += _reachability(script)
    return findings


def _unique_ids(script: Script) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for index, question in enumerate(script.questions):
        if question.id == END:
            yield ("questions", index, "id"), "'end' is reserved for `goto: end`; pick another id"
        if question.id in seen:
            yield (
                ("questions", index, "id"),
                f"duplicate question id {question.id!r} (also questions[{seen[question.id]}])",
            )
        seen.setdefault(question.id, index)
        option_seen: set[str] = set()
        for option_index, option in enumerate(options_of(question)):
            if option.id in option_seen:
                yield (
                    _option_path(script, index, option_index),
                    f"duplicate option id {option.id!r} in question {question.id!r}",
                )
            option_seen.add(option.id)
            token = payloads.answer(question.id, option.id).encode()
            if len(token) > payloads.MAX_TOKEN_BYTES:
                yield (
                    _option_path(script, index, option_index),
                    f"question id {question.id!r} and option id {option.id!r} are too long "
                    f"together: their button would carry {len(token)} bytes, and Telegram "
                    f"takes at most {payloads.MAX_TOKEN_BYTES} (shorten either id; together "
                    f"at most {payloads.MAX_TOKEN_BYTES - 3} characters)",
                )


def _option_path(script: Script, question_index: int, option_index: int) -> tuple[str | int, ...]:
    question = script.questions[question_index]
    bands = getattr(question, "bands", ())
    if option_index < len(bands):
        return ("questions", question_index, "bands", option_index, "id")
    key = "options"
    return ("questions", question_index, key, option_index - len(bands), "id")


def _check_condition(
    script: Script, condition: Condition, path: tuple[str | int, ...]
) -> Iterator[Finding]:
    ids = set(script.question_ids())
    if condition.answer is not None:
        for question_id, option_ids in condition.answer.items():
            if question_id not in ids:
                yield (*path, "answer", question_id), _unknown_question(script, question_id)
                continue
            known = {o.id for o in options_of(script.question(question_id))}
            for option_id in option_ids:
                if option_id not in known:
                    yield (
                        (*path, "answer", question_id),
                        f"question {question_id!r} has no option {option_id!r}; "
                        f"its options are {', '.join(sorted(known)) or 'none (free text)'}",
                    )
    for key in ("answered", "not_answered"):
        for index, question_id in enumerate(getattr(condition, key) or ()):
            if question_id not in ids:
                yield (*path, key, index), _unknown_question(script, question_id)
    for key in ("any", "all"):
        for index, child in enumerate(getattr(condition, key) or ()):
            yield from _check_condition(script, child, (*path, key, index))
    if condition.not_ is not None:
        yield from _check_condition(script, condition.not_, (*path, "not"))


def _unknown_question(script: Script, question_id: str) -> str:
    return (
        f"no question {question_id!r}; the questions are {', '.join(script.question_ids())}"
    )


def _references(script: Script) -> Iterator[Finding]:
    ids = set(script.question_ids())
    for index, question in enumerate(script.questions):
        base: tuple[str | int, ...] = ("questions", index)
        if question.ask_when is not None:
            yield from _check_condition(script, question.ask_when, (*base, "ask_when"))
        for branch_index, branch in enumerate(question.next):
            if branch.when is not None:
                yield from _check_condition(
                    script, branch.when, (*base, "next", branch_index, "when")
                )
            if branch.goto != END and branch.goto not in ids:
                yield (
                    (*base, "next", branch_index, "goto"),
                    f"goto {branch.goto!r}: no such question; use a question id or 'end'",
                )
    scoring = script.scoring
    if scoring.disqualify_when is not None:
        yield from _check_condition(script, scoring.disqualify_when, ("scoring", "disqualify_when"))
    for index, question_id in enumerate(scoring.sql_requires):
        if question_id not in ids:
            yield ("scoring", "sql_requires", index), _unknown_question(script, question_id)
    actions = {a.id: a for a in script.engagement.actions}
    seen_actions: set[str] = set()
    for index, action in enumerate(script.engagement.actions):
        if action.id in seen_actions:
            yield ("engagement", "actions", index, "id"), f"duplicate action id {action.id!r}"
        seen_actions.add(action.id)
    seen_follow_ups: set[str] = set()
    for index, follow_up in enumerate(script.nurture.follow_ups):
        path: tuple[str | int, ...] = ("nurture", "follow_ups", index)
        if follow_up.id in seen_follow_ups:
            yield (*path, "id"), f"duplicate follow-up id {follow_up.id!r}"
        seen_follow_ups.add(follow_up.id)
        if follow_up.when is not None:
            yield from _check_condition(script, follow_up.when, (*path, "when"))
        for action_index, action_id in enumerate(follow_up.actions):
            offered = actions.get(action_id)
            if offered is None:
                yield (*path, "actions", action_index), (
                    f"no engagement action {action_id!r}; declare it under engagement.actions"
                )
            elif offered.label is None:
                yield (*path, "actions", action_index), (
                    f"action {action_id!r} has no label, so it cannot be a button; add one"
                )
    for index, route in enumerate(script.routing):
        if route.when is not None:
            yield from _check_condition(script, route.when, ("routing", index, "when"))
    for index, example in enumerate(script.examples):
        for question_id in example.answers:
            if question_id not in ids:
                yield ("examples", index, "answers", question_id), _unknown_question(
                    script, question_id
                )
        for question_id, option_id in (example.expect.options or {}).items():
            if question_id not in ids:
                yield ("examples", index, "expect", "options", question_id), _unknown_question(
                    script, question_id
                )
            elif option_id is not None and option_id not in {
                o.id for o in options_of(script.question(question_id))
            }:
                yield (
                    ("examples", index, "expect", "options", question_id),
                    f"question {question_id!r} has no option {option_id!r}",
                )


def _texts(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Text]]:
    if isinstance(value, Text):
        yield path, value
        return
    if hasattr(value, "__pydantic_fields__") and not isinstance(value, Text):
        for name in type(value).model_fields:
            child = getattr(value, name)
            key = "not" if name == "not_" else name
            yield from _texts(child, (*path, key))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _texts(item, (*path, index))


def _translations(script: Script, data: dict[str, Any]) -> Iterator[Finding]:
    declared = set(script.languages)
    if script.alerts.language is not None and script.alerts.language not in declared:
        yield ("alerts", "language"), (
            f"alerts in {script.alerts.language} but the script's texts are in "
            f"{', '.join(script.languages)}; add {script.alerts.language} to languages: "
            "or pick one of them"
        )
    for path, text in _texts(script, ()):
        present = set(text.root)
        if "*" in present:
            present = (present - {"*"}) | {script.lang}
        missing = sorted(declared - present)
        if missing:
            yield path, (
                f"missing the {', '.join(missing)} text; the script declares "
                f"languages {', '.join(script.languages)}"
            )
        extra = sorted(present - declared)
        if extra:
            yield path, (
                f"has a {', '.join(extra)} text but languages: lists "
                f"{', '.join(script.languages)}; add it there or remove the text"
            )
        for language, body in text.root.items():
            for name in _PLACEHOLDER.findall(body):
                if name not in ALLOWED_PLACEHOLDERS:
                    yield path, (
                        f"unknown placeholder {{{name}}} in the {language} text; "
                        f"only {{first_name}} is filled in"
                    )


def successors(script: Script, index: int) -> list[str]:
    """Where the flow can go after questions[index]: goto targets and the next question."""
    question = script.questions[index]
    targets = [branch.goto for branch in question.next]
    unconditional = any(branch.when is None for branch in question.next)
    if not unconditional:
        targets.append(
            script.questions[index + 1].id if index + 1 < len(script.questions) else END
        )
    return targets


def _reachability(script: Script) -> Iterator[Finding]:
    ids = script.question_ids()
    if len(set(ids)) != len(ids):
        return  # reported as duplicate ids; the graph would be ambiguous
    index_of = {qid: i for i, qid in enumerate(ids)}
    graph = {
        qid: [t for t in successors(script, index_of[qid]) if t == END or t in index_of]
        for qid in ids
    }
    reached: set[str] = set()
    todo = [ids[0]]
    while todo:
        current = todo.pop()
        if current in reached or current == END:
            continue
        reached.add(current)
        todo.extend(graph[current])
    for qid in ids:
        if qid not in reached:
            yield (
                ("questions", index_of[qid], "id"),
                f"question {qid!r} can never be asked: no question leads to it "
                "(check the `next:` rules before it)",
            )
    for component in _cycles(graph):
        exits = any(t == END or t not in component for q in component for t in graph[q])
        if not exits:
            first = min(component, key=lambda q: index_of[q])
            yield (
                ("questions", index_of[first], "next"),
                f"questions {', '.join(sorted(component, key=index_of.__getitem__))} "
                "form a loop with no way out; add a branch to another question or 'end'",
            )


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan, without recursion).

    Iterative so that a long chain of questions cannot exhaust Python's stack: each
    frame of the explicit stack is a node and the position in its successor list.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = [t for t in graph.get(node, []) if t != END]
            descended = False
            for offset in range(position, len(targets)):
                target = targets[offset]
                if target not in index:
                    work.append((node, offset + 1))  # come back to the next successor
                    work.append((target, 0))
                    descended = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if descended:
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, []):
                    found.append(component)
            if work:  # propagate to the parent, as the recursive version does on return
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found

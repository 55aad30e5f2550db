"""What the form view shows: the draft's YAML data arranged as fields, each with its YAML path.

Built from the draft's plain data (not the validated model), so a draft with
problems can still be edited in the form; each field carries the path of the value
it edits and the problems reported at that path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.lifecycle.models import Problem
from conversations.source_edits import NodePath

BANDED_TYPES = ("number", "money", "timeframe")


def path_json(path: NodePath) -> str:
    return json.dumps(list(path))


def render_path(path: NodePath) -> str:
    """The path as problems name it (`questions[0].ask.fr`), as in `leadbot script check`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, slots=True)
class TextField:
    path: NodePath
    values: dict[str, str]  # language → text

    @property
    def key(self) -> str:
        return path_json(self.path)

    @property
    def dom_id(self) -> str:
        return "f-" + render_path(self.path).replace("[", "-").replace("]", "").replace(".", "-")


@dataclass(frozen=True, slots=True)
class SynonymGroup:
    path: NodePath
    lang: str  # "" when the list is for every language
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OptionForm:
    path: NodePath  # ("questions", 0, "options", 2)
    kind: str  # "options" or "bands"
    index: int
    id: str
    label: TextField
    synonyms: tuple[SynonymGroup, ...]
    fit: Any
    intent: Any
    upper_key: str | None  # "max" or "below" for a band
    upper: Any


@dataclass(frozen=True, slots=True)
class QuestionForm:
    index: int
    id: str
    type: str
    ask: TextField
    options: tuple[OptionForm, ...]
    banded: bool


@dataclass(frozen=True, slots=True)
class ScriptForm:
    languages: tuple[str, ...]
    default_lang: str
    greeting: TextField
    questions: tuple[QuestionForm, ...]
    scoring: dict[str, Any]
    problems: dict[str, list[Problem]] = field(default_factory=dict)  # by path

    def question_by_id(self, question_id: str) -> QuestionForm | None:
        for question in self.questions:
            if question.id == question_id:
                return question
        return None

    def problems_under(self, path: NodePath, *, but: tuple[NodePath, ...] = ()) -> list[Problem]:
        """Problems about `path` or anything inside it, except inside the `but` paths."""
        def inside(problem_path: str, prefix: str) -> bool:
            return problem_path == prefix or problem_path.startswith((prefix + ".", prefix + "["))

        prefix = render_path(path)
        skipped = [render_path(p) for p in but]
        return [problem for key, found in self.problems.items() for problem in found
                if inside(key, prefix) and not any(inside(key, s) for s in skipped)]


def _text(path: NodePath, value: Any, default_lang: str) -> TextField:
    if isinstance(value, dict):
        return TextField(path, {str(k): str(v) for k, v in value.items()})
    if isinstance(value, str):
        return TextField(path, {default_lang: value})
    return TextField(path, {})


def _synonyms(path: NodePath, value: Any, languages: tuple[str, ...]) -> tuple[SynonymGroup, ...]:
    if isinstance(value, dict):
        return tuple(
            SynonymGroup((*path, lang), lang, tuple(str(w) for w in value.get(lang) or ()))
            for lang in (*languages, *(k for k in value if k not in languages))
        )
    if isinstance(value, list):
        return (SynonymGroup(path, "", tuple(str(w) for w in value)),)
    return (SynonymGroup(path, "", ()),)


def _options(qpath: NodePath, question: dict[str, Any], languages: tuple[str, ...],
             default_lang: str) -> tuple[OptionForm, ...]:
    found = []
    for kind in ("bands", "options"):
        items = question.get(kind)
        if not isinstance(items, list):
            continue
        for index, option in enumerate(items):
            if not isinstance(option, dict):
                continue
            path = (*qpath, kind, index)
            raw_points = option.get("points")
            points: dict[str, Any] = raw_points if isinstance(raw_points, dict) else {}
            upper_key = None
            if kind == "bands":
                upper_key = "below" if "below" in option else "max"
            found.append(OptionForm(
                path=path, kind=kind, index=index, id=str(option.get("id", "")),
                label=_text((*path, "label"), option.get("label"), default_lang),
                synonyms=_synonyms((*path, "synonyms"), option.get("synonyms"), languages),
                fit=points.get("fit", ""), intent=points.get("intent", ""),
                upper_key=upper_key, upper=option.get(upper_key, "") if upper_key else "",
            ))
    return tuple(found)


def script_form(data: dict[str, Any], problems: list[Problem]) -> ScriptForm:
    raw_languages = data.get("languages")
    languages = tuple(str(x) for x in raw_languages) if isinstance(raw_languages, list) else (
        "en",)
    default_lang = str(data.get("default_language") or (languages[0] if languages else "en"))
    questions = []
    for index, question in enumerate(data.get("questions") or ()):
        if not isinstance(question, dict):
            continue
        qpath: NodePath = ("questions", index)
        qtype = str(question.get("type", ""))
        questions.append(QuestionForm(
            index=index, id=str(question.get("id", "")), type=qtype,
            ask=_text((*qpath, "ask"), question.get("ask"), default_lang),
            options=_options(qpath, question, languages, default_lang),
            banded=qtype in BANDED_TYPES,
        ))
    scoring = data.get("scoring") if isinstance(data.get("scoring"), dict) else {}
    by_path: dict[str, list[Problem]] = {}
    for problem in problems:
        by_path.setdefault(problem.path, []).append(problem)
    return ScriptForm(
        languages=languages, default_lang=default_lang,
        greeting=_text(("greeting",), data.get("greeting"), default_lang),
        questions=tuple(questions), scoring=dict(scoring or {}), problems=by_path,
    )

"""The form view's edits: one posted form field in, the draft's new YAML text out.

Each control of the form posts an `op` and the YAML `path` it edits (a JSON list,
e.g. `["questions", 0, "ask"]`), plus what it carries (a language, a value, an
index). Parsing refuses anything malformed with a message; applying is
`conversations.source_edits`, and adding a synonym is the lifecycle service's own edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from conversations.source_edits import (
    EditError,
    NodePath,
    add_item,
    delete_key,
    move_item,
    remove_item,
    set_text,
    set_value,
)
from conversations.dsl_base import ID_PATTERN, SUPPORTED_LANGUAGES

Op = Literal["text", "number", "synonym_add", "item_remove", "move", "option_add"]
OPS: tuple[str, ...] = get_args(Op)
MAX_PATH = 12
MAX_VALUE = 2000
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

# (yaml text, question id, option id, word, language) → (new text, past answers it covers)
AddSynonym = Callable[[str, str, str, str, str | None], tuple[str, int]]


@dataclass(frozen=True, slots=True)
class FormEdit:
    op: Op
    path: NodePath
    lang: str = ""
    value: str = ""
    index: int = 0
    delta: int = 0
    question: str = ""
    option: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Applied:
    text: str
    message: str = ""


def parse_edit(fields: Mapping[str, str]) -> FormEdit:
    op = fields.get("op", "")
    if op not in OPS:
        raise EditError(f"unknown edit {op!r}; reload the page")
    try:
        raw_path = json.loads(fields.get("path") or "[]")
    except ValueError:
        raise EditError("this field's location is garbled; reload the page") from None
    if not isinstance(raw_path, list) or len(raw_path) > MAX_PATH or not all(
            isinstance(p, (str, int)) and not isinstance(p, bool) for p in raw_path):
        raise EditError("this field's location is garbled; reload the page")
    lang = fields.get("lang", "")
    if lang and lang not in SUPPORTED_LANGUAGES:
        raise EditError(f"unknown language {lang!r}")
    value = fields.get("value", "")
    if len(value) > MAX_VALUE:
        raise EditError(f"that is over {MAX_VALUE} characters; shorten it")
    labels = tuple((code, fields.get(f"label_{code}", "").strip()) for code in SUPPORTED_LANGUAGES
                   if fields.get(f"label_{code}", "").strip())
    return FormEdit(op=op, path=tuple(raw_path), lang=lang, value=value,  # type: ignore[arg-type]
                    index=_int(fields.get("index", "0")), delta=_int(fields.get("delta", "0")),
                    question=fields.get("question", ""), option=fields.get("option", ""),
                    labels=labels)


def _int(text: str) -> int:
    try:
        return int(text or "0")
    except ValueError:
        raise EditError(f"{text!r} is not a whole number") from None


def _number(text: str) -> int | float:
    cleaned = text.strip().replace(" ", "").replace("\u202f", "").replace(",", ".")
    if not _NUMBER.match(cleaned):
        raise EditError(f"{text!r} is not a number; type digits, e.g. 20 or 5000")
    number = float(cleaned)
    return int(number) if number.is_integer() else number


def apply_edit(text: str, edit: FormEdit, *, default_lang: str,
               add_synonym: AddSynonym) -> Applied:
    if edit.op == "text":
        return Applied(set_text(text, edit.path, edit.lang, edit.value.strip(),
                                default_lang=default_lang))
    if edit.op == "number":
        if not edit.value.strip():
            return Applied(delete_key(text, edit.path))
        return Applied(set_value(text, edit.path, _number(edit.value)))
    if edit.op == "synonym_add":
        word = " ".join(edit.value.split())
        if not word:
            raise EditError("type the word or phrase to add, then press Enter")
        new_text, covered = add_synonym(text, edit.question, edit.option, word, edit.lang or None)
        said = "answer" if covered == 1 else "answers"
        return Applied(new_text, f"“{word}” added; it now covers {covered} past unmatched {said}")
    if edit.op == "item_remove":
        return Applied(remove_item(text, edit.path, edit.index))
    if edit.op == "move":
        if edit.delta not in (-1, 1):
            raise EditError("a question moves one place up or down")
        return Applied(move_item(text, edit.path, edit.index, edit.delta))
    return _add_option(text, edit)


def _add_option(text: str, edit: FormEdit) -> Applied:
    option_id = edit.value.strip()
    if not re.match(ID_PATTERN, option_id):
        raise EditError(f"{option_id!r} is not a valid id: use lowercase letters, digits and _ "
                        "(e.g. consulting), starting with a letter or digit")
    if not edit.labels:
        raise EditError("give the new option a label in at least one language")
    new = {"id": option_id, "label": dict(edit.labels)}
    return Applied(add_item(text, edit.path, new), f"option {option_id} added")

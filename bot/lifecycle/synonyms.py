"""Add a synonym to a script's text without disturbing it: comments, order and layout kept.

The edit is made in place (`conversations.source_edits`): only the list that gains the
word changes, so the version diff shows one line and the marketer's comments, quoting
and line breaks stay as they were.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.lifecycle.errors import LifecycleError
from conversations.loader import StrictLoader
from conversations.source_edits import EditError, add_item


def with_synonym(yaml_text: str, question: str, option: str, text: str, lang: str) -> str:
    """The text with `text` added to `option`'s synonyms in `lang` (LifecycleError if it
    names a question or option that does not exist)."""
    phrase = " ".join(text.split())
    if not phrase:
        raise LifecycleError("the synonym is empty; give the words prospects type")
    document = yaml.load(yaml_text, Loader=StrictLoader)
    questions = document.get("questions") if isinstance(document, dict) else None
    questions = questions if isinstance(questions, list) else []
    index = next((i for i, q in enumerate(questions)
                  if isinstance(q, dict) and q.get("id") == question), None)
    if index is None:
        ids = [q.get("id") for q in questions if isinstance(q, dict)]
        raise LifecycleError(f"no question {question!r}; the questions are {', '.join(map(str, ids))}")
    found: dict[str, Any] = questions[index]
    place = _option_place(found, option)
    if place is None:
        ids = [o.get("id") for key in ("bands", "options") for o in found.get(key) or ()
               if isinstance(o, dict)]
        listed = ", ".join(map(str, ids)) if ids else "none (it has no options)"
        raise LifecycleError(f"no option {option!r} in question {question!r}; its options "
                             f"are {listed}")
    key, position = place
    target: dict[str, Any] = found[key][position]
    path: tuple[str | int, ...] = ("questions", index, key, position, "synonyms")
    synonyms = target.get("synonyms")
    if isinstance(synonyms, list):  # a plain list: every language
        words = synonyms
    else:
        by_language = synonyms if isinstance(synonyms, dict) else {}
        words = by_language.get(lang) or []
        path = (*path, lang)
    if any(str(word).casefold() == phrase.casefold() for word in words):
        raise LifecycleError(f"{phrase!r} is already a synonym of {question}.{option}")
    try:
        return add_item(yaml_text, path, phrase)
    except EditError as exc:
        raise LifecycleError(str(exc)) from None


def _option_place(question: dict[str, Any], option: str) -> tuple[str, int] | None:
    """Where the option is: ("bands" | "options", its index)."""
    for key in ("bands", "options"):
        items = question.get(key)
        for position, item in enumerate(items if isinstance(items, list) else ()):
            if isinstance(item, dict) and item.get("id") == option:
                return key, position
    return None

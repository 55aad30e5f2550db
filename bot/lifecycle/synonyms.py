"""Add a synonym to a script's text without disturbing it: comments, order and layout kept.

ruamel.yaml's round-trip parser finds where the option's synonyms are (line and
column of each node); the new words are then inserted into the text at that
place, so every other byte of the marketer's file stays as it was — a re-dump,
even a round-trip one, would re-wrap long lists and re-indent blocks.
"""

from __future__ import annotations

import json
import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.lifecycle.errors import LifecycleError

_PLAIN = re.compile(r"^[^\W\d_][\w .'’&/+-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(text: str) -> str:
    """The words as YAML: bare when that reads back as the same text, else double-quoted."""
    if _PLAIN.match(text) and text.casefold() not in _YAML_WORDS and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def _find_option(document: object, question: str, option: str) -> CommentedMap:
    questions = document.get("questions") if isinstance(document, CommentedMap) else None
    found = next((q for q in questions or () if isinstance(q, CommentedMap)
                  and q.get("id") == question), None)
    if found is None:
        ids = [str(q.get("id")) for q in questions or () if isinstance(q, CommentedMap)]
        raise LifecycleError(f"no question {question!r}; the questions are {', '.join(ids)}")
    options = [*(found.get("bands") or ()), *(found.get("options") or ())]
    target = next((o for o in options if isinstance(o, CommentedMap) and o.get("id") == option),
                  None)
    if target is None:
        ids = [str(o.get("id")) for o in options if isinstance(o, CommentedMap)]
        listed = ", ".join(ids) if ids else "none (it has no options)"
        raise LifecycleError(f"no option {option!r} in question {question!r}; its options "
                             f"are {listed}")
    return target


def _offset(lines: list[str], line: int, column: int) -> int:
    return sum(len(text) for text in lines[:line]) + column


def _end_of_item(text: str, start: int) -> int:
    """Where a flow-sequence item that starts at `start` ends (quotes respected)."""
    if text[start] in "\"'":
        quote, position = text[start], start + 1
        while position < len(text):
            if text[position] == "\\" and quote == '"':
                position += 2
                continue
            if text[position] == quote:
                if quote == "'" and text[position + 1:position + 2] == "'":
                    position += 2
                    continue
                return position + 1
            position += 1
        return position
    position = start
    while position < len(text) and text[position] not in ",]\n#":
        position += 1
    return len(text[:position].rstrip())


def _insert_into_list(text: str, lines: list[str], words: CommentedSeq, scalar: str) -> str:
    last = len(words) - 1
    if words.fa.flow_style():
        if last < 0:  # `[]`: put the words between the brackets
            at = _offset(lines, words.lc.line, words.lc.col) + 1
            return text[:at] + scalar + text[at:]
        at = _end_of_item(text, _offset(lines, *words.lc.item(last)))
        return text[:at] + ", " + scalar + text[at:]
    line, column = words.lc.item(last)
    dash = " " * max(column - 2, 0)
    after = _offset(lines, line + 1, 0)
    return text[:after] + f"{dash}- {scalar}\n" + text[after:]


def _insert_key(text: str, lines: list[str], mapping: CommentedMap, entry: str) -> str:
    """Add `key: value` (given as `entry`) as the mapping's first entry."""
    if mapping.fa.flow_style():
        at = _offset(lines, mapping.lc.line, mapping.lc.col) + 1
        return text[:at] + entry + ", " + text[at:]
    first = next(iter(mapping))
    line, column = mapping.lc.key(first)
    at = _offset(lines, line, 0)
    if lines[line][:column].strip():  # `- id: x`: the first key shares the dash's line
        at = _offset(lines, line + 1, 0)
    return text[:at] + " " * int(column) + entry + "\n" + text[at:]


def with_synonym(yaml_text: str, question: str, option: str, text: str, lang: str) -> str:
    """The text with `text` added to `option`'s synonyms in `lang` (LifecycleError if it
    names a question or option that does not exist, or the words are there already)."""
    phrase = " ".join(text.split())
    if not phrase:
        raise LifecycleError("the synonym is empty; give the words prospects type")
    document = YAML(typ="rt").load(yaml_text)
    target = _find_option(document, question, option)
    lines = yaml_text.splitlines(keepends=True)
    scalar = _scalar(phrase)
    synonyms = target.get("synonyms")
    if synonyms is None:
        return _insert_key(yaml_text, lines, target, f"synonyms: {{{lang}: [{scalar}]}}")
    if isinstance(synonyms, CommentedSeq):  # one list for every language
        words = synonyms
    elif isinstance(synonyms, CommentedMap):
        words = synonyms.get(lang)
        if words is None:
            return _insert_key(yaml_text, lines, synonyms, f"{lang}: [{scalar}]")
    else:
        raise LifecycleError(f"the synonyms of {question}.{option} are not a list; fix the "
                             "script first")
    if any(str(word).casefold() == phrase.casefold() for word in words):
        raise LifecycleError(f"{phrase!r} is already a synonym of {question}.{option}")
    return _insert_into_list(yaml_text, lines, words, scalar)

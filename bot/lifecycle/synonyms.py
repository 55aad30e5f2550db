"""Add a synonym to a script's text without disturbing it: comments, order and layout kept.

ruamel.yaml's round-trip mode edits the parsed document in place and writes back
everything else as it was; a re-dump would lose the marketer's comments.
"""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.lifecycle.errors import LifecycleError


def with_synonym(yaml_text: str, question: str, option: str, text: str, lang: str) -> str:
    """The text with `text` added to `option`'s synonyms in `lang` (LifecycleError if it
    names a question or option that does not exist)."""
    phrase = " ".join(text.split())
    if not phrase:
        raise LifecycleError("the synonym is empty; give the words prospects type")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    document = yaml.load(yaml_text)
    questions = document.get("questions") if isinstance(document, CommentedMap) else None
    found = next((q for q in questions or () if isinstance(q, CommentedMap)
                  and q.get("id") == question), None)
    if found is None:
        ids = [q.get("id") for q in questions or () if isinstance(q, CommentedMap)]
        raise LifecycleError(f"no question {question!r}; the questions are {', '.join(map(str, ids))}")
    options = found.get("options") or found.get("bands") or []
    target = next((o for o in options if isinstance(o, CommentedMap) and o.get("id") == option),
                  None)
    if target is None:
        ids = [o.get("id") for o in options if isinstance(o, CommentedMap)]
        listed = ", ".join(map(str, ids)) if ids else "none (it has no options)"
        raise LifecycleError(f"no option {option!r} in question {question!r}; its options "
                             f"are {listed}")
    synonyms = target.get("synonyms")
    if synonyms is None:
        synonyms = CommentedMap()
        target["synonyms"] = synonyms
    if isinstance(synonyms, CommentedSeq):  # a plain list: the script's main language
        words = synonyms
    else:
        words = synonyms.get(lang)
        if words is None:
            words = CommentedSeq()
            words.fa.set_flow_style()
            synonyms[lang] = words
    if any(str(word).casefold() == phrase.casefold() for word in words):
        raise LifecycleError(f"{phrase!r} is already a synonym of {question}.{option}")
    words.append(phrase)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()

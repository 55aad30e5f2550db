"""For an answer the bot did not understand, the option it was closest to (or none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.lifecycle.models import Problem, UnmatchedSuggestion
from bot.reports.unmatched import Unmatched
from conversations.dsl import ChoiceQuestion, Script
from conversations.loader import ScriptError, parse_script
from conversations.matching import match_answer
from storage.scripts import ScriptRepository

# Below this the closest option is a guess worth nobody's time: say "none".
SUGGEST_CONFIDENCE: Final = 0.4


def suggestion(script: Script | None, item: Unmatched) -> UnmatchedSuggestion:
    option, confidence = None, 0.0
    if script is not None and item.question in script.question_ids():
        question = script.question(item.question)
        lang = script.lang
        match = match_answer(question, item.example, lang=lang)
        for language in script.languages:  # the answer may be in any of them
            tried = match_answer(question, item.example, lang=language)
            if tried.confidence > match.confidence:
                match = tried
        if match.option_id is not None and match.confidence >= SUGGEST_CONFIDENCE:
            option, confidence = match.option_id, match.confidence
        elif match.suggestions and isinstance(question, ChoiceQuestion):
            option, confidence = match.suggestions[0], max(match.confidence, SUGGEST_CONFIDENCE)
    return UnmatchedSuggestion(question=item.question, text=item.text, count=item.count,
                               leads=item.leads, example=item.example, option=option,
                               confidence=round(confidence, 3))


def served_script(session: Session,
                  parse: Callable[[str], Script | list[Problem]] | None = None) -> Script | None:
    """The script served now (the active deployment's first version), None when none is or
    the database predates script versions."""
    scripts = ScriptRepository(session)
    try:
        active = scripts.active()
        if active is None:
            return None
        number = int(active.variants[0]["version"])
        text = scripts.texts([number]).get(number)
    except (OperationalError, ProgrammingError):
        session.rollback()
        return None
    if text is None:
        return None
    if parse is not None:
        parsed = parse(text)
        return parsed if isinstance(parsed, Script) else None
    try:
        return parse_script(text, filename=f"version {number}")
    except ScriptError:
        return None

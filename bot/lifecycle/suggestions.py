"""For an answer the bot did not understand, the option it was closest to (or none)."""

from __future__ import annotations

from typing import Final

from bot.lifecycle.models import UnmatchedSuggestion
from bot.reports.unmatched import Unmatched
from conversations.dsl import ChoiceQuestion, Script
from conversations.matching import match_answer

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

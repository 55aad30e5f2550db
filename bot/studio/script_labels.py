"""How the pages name a script's questions and options (in the workspace's language)."""

from __future__ import annotations

from conversations.dsl import EmailQuestion, PhoneQuestion, Script


def question_text(script: Script, question_id: str, lang: str) -> str:
    """The question as asked, or its id when the active script no longer has it."""
    try:
        return script.question(question_id).ask.get(lang, script.lang)
    except KeyError:
        return question_id


def option_label(script: Script, question_id: str, option_id: str | None, lang: str) -> str:
    if option_id is None:
        return ""
    try:
        question = script.question(question_id)
    except KeyError:
        return option_id
    options = list(getattr(question, "options", ())) + list(getattr(question, "bands", ()))
    for option in options:
        if option.id == option_id:
            return str(option.label.get(lang, script.lang))
    return option_id


def contact_questions(script: Script) -> frozenset[str]:
    """Questions whose answers fill the lead card (name, company, email, phone, role) or are
    an email or a phone: hidden from viewers, like the card itself."""
    return frozenset(q.id for q in script.questions
                     if q.field is not None or isinstance(q, (EmailQuestion, PhoneQuestion)))

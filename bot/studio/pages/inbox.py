"""The unmatched inbox: answers the bot did not understand, per question, most frequent first.

Suggestions (the closest option) come from the lifecycle service; mapping an answer
is its `add_synonym` applied to the workspace draft; a dismissed answer is
remembered in `studio_dismissals` and no longer listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from bot.lifecycle.errors import LifecycleError
from bot.lifecycle.models import UnmatchedSuggestion
from bot.studio.drafts import checked, draft_record, lifecycle_of, save_draft
from bot.studio.web import Page, get, post
from conversations.dsl import Option, Script, options_of
from storage.studio import DraftConflict, StudioRepository

PER_QUESTION = 20


@dataclass(frozen=True, slots=True)
class InboxQuestion:
    id: str
    ask: str
    options: tuple[Option, ...]
    answers: tuple[UnmatchedSuggestion, ...]
    mapped: dict[str, str]  # answer text → option id that has it as a synonym in the draft


def _draft_script(page: Page) -> Script:
    script, _ = checked(lifecycle_of(page.studio.container),
                        draft_record(page.studio.container, by=page.user.email).yaml_text)
    return script or page.studio.container.script.script  # broken draft: what is served


def _mapped(options: tuple[Option, ...]) -> dict[str, str]:
    return {word.casefold(): option.id for option in options for word in option.synonyms.all()}


def inbox_page(page: Page, *, message: str = "", error: str = "",
               status_code: int = 200) -> Response:
    lifecycle = lifecycle_of(page.studio.container)
    script = _draft_script(page)
    with page.studio.uow() as uow:
        dismissed = StudioRepository(uow.session).dismissed()
    questions = []
    for question in script.questions:
        options = options_of(question)
        if not options:
            continue
        found = lifecycle.suggest_for_unmatched(question=question.id, limit=PER_QUESTION)
        answers = tuple(s for s in found if (question.id, StudioRepository.dismissal_key(s.text))
                        not in dismissed)
        questions.append(InboxQuestion(
            id=question.id, ask=question.ask.get(script.lang, script.lang), options=options,
            answers=answers, mapped=_mapped(options)))
    return page.render("inbox.html", status_code=status_code, questions=questions,
                       lang=script.lang, message=message, error=error,
                       total=sum(len(q.answers) for q in questions),
                       can_edit=page.allowed("marketer"))


def inbox(page: Page) -> Response:
    return inbox_page(page)


def map_answer(page: Page) -> Response:
    """Add the answer to the option's synonyms in the draft."""
    container = page.studio.container
    question, option, text = page.field("question"), page.field("option"), page.field("text")
    draft = draft_record(container, by=page.user.email)
    try:
        added = lifecycle_of(container).add_synonym(draft.yaml_text, question, option, text)
        save_draft(container.uow, added.yaml_text, revision=draft.revision,
                   by=page.user.email, now=page.studio.now())
    except (LifecycleError, DraftConflict) as exc:
        return inbox_page(page, error=str(exc), status_code=422)
    said = "answer" if added.covered == 1 else "answers"
    return inbox_page(page, message=(
        f"“{text}” is now a synonym of {option} in the draft; it covers {added.covered} past "
        f"unmatched {said}. Publish the draft to use it."))


def dismiss(page: Page) -> Response:
    question, text = page.field("question"), page.field("text")
    if not question or not text:
        return inbox_page(page, error="nothing to dismiss; reload the page", status_code=422)
    with page.studio.uow() as uow:
        StudioRepository(uow.session).dismiss(question, text, by=page.user.email,
                                              now=page.studio.now())
        uow.commit()
    return inbox_page(page, message=f"“{text}” dismissed; it will not be listed again.")


ROUTES = [
    get("/inbox", inbox),
    post("/inbox/map", map_answer, role="marketer"),
    post("/inbox/dismiss", dismiss, role="marketer"),
]

"""The preview chat's routes: talk to the draft as a prospect; the chat is kept per workspace user.

The conversation runs in `bot.studio.preview` (the real engine, in memory); its state
is kept in `studio_previews`, never in the leads tables.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from bot.studio.drafts import checked, draft_record, lifecycle_of
from bot.studio.preview import (
    PREVIEW_FIRST_NAME,
    PreviewSession,
    preview_card,
    preview_turn,
    start_preview,
)
from bot.studio.slack_card import card_view
from bot.studio.web import Page, get, post
from conversations.dsl import Script
from conversations.exchange import Inbound
from conversations.turn import MAX_INPUT_CHARS
from storage.studio import StudioRepository


def _owner(page: Page) -> str:
    return f"user:{page.user.id}"


def _draft_script(page: Page) -> tuple[Script | None, int]:
    """The draft as a runnable script, or None (and how many problems stop it).

    Failing examples do not stop the preview: the script runs, and trying it is how
    a marketer finds out why an example fails.
    """
    record = draft_record(page.studio.container, by=page.user.email)
    script, problems = checked(lifecycle_of(page.studio.container), record.yaml_text)
    return script, 0 if script is not None else len(problems)


def _load(page: Page) -> PreviewSession:
    with page.studio.uow() as uow:
        saved = StudioRepository(uow.session).preview(_owner(page))
    if saved is None:
        return PreviewSession()
    try:
        return PreviewSession.model_validate(saved)
    except ValueError:
        return PreviewSession()  # saved by an older version of the preview: start again


def _save(page: Page, session: PreviewSession) -> None:
    with page.studio.uow() as uow:
        StudioRepository(uow.session).save_preview(
            _owner(page), session.model_dump(mode="json"), now=page.studio.now())
        uow.commit()


def chat_context(page: Page, *, error: str = "") -> dict[str, Any]:
    script, problems = _draft_script(page)
    session = _load(page)
    if script is not None and session.state is None:
        session = start_preview(script, lang=script.lang, now=page.studio.now())
        _save(page, session)
    card = preview_card(script, session, page.studio.now()) if script is not None else None
    return {"chat": session, "chat_blocked": problems, "chat_error": error,
            "chat_card": card_view(card) if card is not None else None,
            "chat_languages": script.languages if script is not None else (),
            "max_input": MAX_INPUT_CHARS}


def preview_page(page: Page) -> Response:
    return page.render("preview.html", **chat_context(page))


def _turn(page: Page, inbound: Inbound) -> Response:
    script, _ = _draft_script(page)
    if script is not None:
        _save(page, preview_turn(script, _load(page), inbound, now=page.studio.now()))
    return page.render("_chat.html", **chat_context(page))


def say(page: Page) -> Response:
    text = page.field("text")
    if not text.strip():
        return page.render("_chat.html", **chat_context(page, error="type a message first"))
    return _turn(page, Inbound.parse_text(text[:MAX_INPUT_CHARS], first_name=PREVIEW_FIRST_NAME))


def tap(page: Page) -> Response:
    token = page.field("token")[:64]
    return _turn(page, Inbound(kind="choice", choice=token))


def restart(page: Page) -> Response:
    script, _ = _draft_script(page)
    if script is not None:
        lang = page.field("lang")
        lang = lang if lang in script.languages else script.lang
        _save(page, start_preview(script, lang=lang, now=page.studio.now()))
    return page.render("_chat.html", **chat_context(page))


# The preview writes only the user's own preview row: viewers may try the draft too.
ROUTES = [
    get("/preview", preview_page),
    post("/preview/say", say, role="viewer"),
    post("/preview/tap", tap, role="viewer"),
    post("/preview/restart", restart, role="viewer"),
]

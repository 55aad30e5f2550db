"""The script editor page: the draft in a form view and a YAML view, with the preview beside it.

Routes only translate: the draft is `bot.studio.drafts`, form edits are
`bot.studio.form_edits`, checking and adding synonyms are the lifecycle service.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from bot.lifecycle.errors import LifecycleError
from bot.studio.drafts import (
    DraftState,
    DraftTooLarge,
    current_draft,
    draft_data,
    draft_record,
    draft_state,
    lifecycle_of,
    restart_draft,
    save_draft,
)
from bot.studio.form_edits import apply_edit, parse_edit
from bot.studio.form_view import path_json, script_form
from bot.studio.pages.preview import chat_context
from bot.studio.web import Page, get, post
from conversations.source_edits import EditError
from storage.studio import DraftConflict

MAX_ATTEMPTS = 3


def _form_context(page: Page, state: DraftState, *, message: str = "",
                  error: str = "") -> dict[str, Any]:
    form = script_form(state.data, list(state.problems)) if state.data is not None else None
    wanted = page.field("section") or page.query.get("section", "")
    if form is not None and form.question_by_id(wanted) is None and wanted != "general":
        wanted = form.questions[0].id if form.questions else "general"
    return {"draft": state.record, "section": wanted, "problems": state.problems, "form": form,
            "problems_data": [problem.model_dump() for problem in state.problems],
            "message": message, "error": error, "path_json": path_json,
            "can_edit": page.allowed("marketer")}


def editor(page: Page) -> Response:
    state = current_draft(page.studio.container, by=page.user.email)
    view = "yaml" if page.query.get("view") == "yaml" else "form"
    return page.render("script.html", view=view, **_form_context(page, state),
                       **chat_context(page))


def edit(page: Page) -> Response:
    """One form control changed: apply it to the draft and send the form back.

    Fields send their edits one by one as they change, so the user's own previous edit
    may land after this page was drawn, or while this one runs: a form edit is then
    applied on top of it. An edit from someone else since the page was drawn is a
    conflict: the form comes back with their version and nothing is changed.
    """
    container = page.studio.container
    lifecycle = lifecycle_of(container)
    fields = {key: value for key, value in (page.form or {}).items() if isinstance(value, str)}

    def add_synonym(text: str, question: str, option: str, word: str,
                    lang: str | None) -> tuple[str, int]:
        added = lifecycle.add_synonym(text, question, option, word, lang)
        return added.yaml_text, added.covered

    record = draft_record(container, by=page.user.email)
    try:
        revision = int(fields.get("revision", ""))
        form_edit = parse_edit(fields)
    except (ValueError, EditError) as exc:
        message = str(exc) if isinstance(exc, EditError) else "the page is out of date; reload it"
        return page.render("_script_form.html", **_form_context(
            page, draft_state(record, lifecycle), error=message))
    for _ in range(MAX_ATTEMPTS):
        if revision != record.revision and record.updated_by == page.user.email:
            revision = record.revision
        try:
            default_lang = script_form(draft_data(record.yaml_text) or {}, []).default_lang
            applied = apply_edit(record.yaml_text, form_edit, default_lang=default_lang,
                                 add_synonym=add_synonym)
            saved = save_draft(container.uow, applied.text, revision=revision,
                               by=page.user.email, now=page.studio.now())
        except (EditError, LifecycleError, DraftTooLarge) as exc:
            return page.render("_script_form.html", **_form_context(
                page, draft_state(record, lifecycle), error=str(exc)))
        except DraftConflict as exc:
            record = exc.current
            if record.updated_by == page.user.email:
                continue  # our own edit got in first: apply this one on top
            return page.render("_script_form.html", **_form_context(
                page, draft_state(record, lifecycle), error=str(exc)))
        return page.render("_script_form.html", **_form_context(
            page, draft_state(saved, lifecycle), message=applied.message))
    return page.render("_script_form.html", **_form_context(
        page, draft_state(record, lifecycle), error="the draft is busy; try again"))


def save_yaml(page: Page) -> Response:
    """The YAML view's text: saved as the draft; answers with its problems (for the gutter)."""
    container = page.studio.container
    lifecycle = lifecycle_of(container)
    text = page.field("yaml")
    wants_json = "application/json" in page.request.headers.get("accept", "")
    try:
        revision = int(page.field("revision"))
    except ValueError:
        return _yaml_refused(page, "the page is out of date; reload it", wants_json)
    try:
        record = save_draft(container.uow, text, revision=revision, by=page.user.email,
                            now=page.studio.now())
    except (DraftTooLarge, DraftConflict) as exc:
        return _yaml_refused(page, str(exc), wants_json)
    state = draft_state(record, lifecycle)
    if wants_json:
        return JSONResponse({
            "revision": record.revision,
            "problems": [problem.model_dump() for problem in state.problems],
        })
    return page.redirect("/script?view=yaml")


def _yaml_refused(page: Page, message: str, wants_json: bool) -> Response:
    if wants_json:
        return JSONResponse({"error": message}, status_code=409)
    state = current_draft(page.studio.container, by=page.user.email)
    return page.render("script.html", view="yaml", status_code=409,
                       **_form_context(page, state, error=message), **chat_context(page))


def discard(page: Page) -> Response:
    """Start the draft again from what is served now."""
    restart_draft(page.studio.container, by=page.user.email)
    return page.redirect("/script")


ROUTES = [
    get("/script", editor),
    post("/script/edit", edit, role="marketer"),
    post("/script/yaml", save_yaml, role="marketer"),
    post("/script/discard", discard, role="marketer"),
]

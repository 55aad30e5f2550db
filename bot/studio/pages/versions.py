"""Replay, publish and roll back: the draft against what is served, and the version history.

Every number and list here comes from the lifecycle service (diff, replay, publish,
rollback, history); each change that reaches prospects is also written to the audit log.
"""

from __future__ import annotations

from starlette.responses import Response

from bot.lifecycle.errors import InvalidScript, LifecycleError
from bot.lifecycle.models import ScriptDiff
from bot.studio.drafts import current_draft, lifecycle_of, save_draft, served_text
from bot.studio.web import Page, get, post
from storage.audit import record_audit
from storage.studio import DraftConflict

MAX_NOTE = 500
MOVED_SHOWN = 50


def _draft_diff(page: Page) -> tuple[ScriptDiff | None, str]:
    container = page.studio.container
    lifecycle = lifecycle_of(container)
    draft = current_draft(container, by=page.user.email)
    active_text, _ = served_text(lifecycle, container.script.path)
    try:
        return lifecycle.diff_text(active_text, draft.record.yaml_text), ""
    except InvalidScript as exc:
        return None, str(exc)


def versions_page(page: Page, *, message: str = "", error: str = "",
                  status_code: int = 200) -> Response:
    container = page.studio.container
    lifecycle = lifecycle_of(container)
    draft = current_draft(container, by=page.user.email)
    diff, diff_error = _draft_diff(page)
    return page.render(
        "versions.html", status_code=status_code, draft=draft.record, problems=draft.problems,
        diff=diff, diff_error=diff_error, versions=lifecycle.list_versions(),
        deployments=lifecycle.deployments(limit=30), active=lifecycle.active_deployment(),
        message=message, error=error,
        can_edit=page.allowed("marketer"))


def versions(page: Page) -> Response:
    return versions_page(page)


def replay(page: Page) -> Response:
    """"What would change?": the draft replayed over stored conversations."""
    container = page.studio.container
    draft = current_draft(container, by=page.user.email)
    try:
        report = lifecycle_of(container).replay(draft.record.yaml_text)
    except LifecycleError as exc:
        return page.render("_replay.html", report=None, error=str(exc))
    moved = [c for c in report.conversations if c.changed][:MOVED_SHOWN]
    return page.render("_replay.html", report=report, moved=moved, error="",
                       moved_total=sum(1 for c in report.conversations if c.changed))


def publish(page: Page) -> Response:
    container = page.studio.container
    lifecycle = lifecycle_of(container)
    note = page.field("note").strip()[:MAX_NOTE]
    draft = current_draft(container, by=page.user.email)
    if str(draft.record.revision) != page.field("revision"):
        return versions_page(page, status_code=409, error=(
            "the draft changed since this page was loaded; check the changes again, "
            "then publish"))
    try:
        result = lifecycle.publish(draft.record.yaml_text, author=page.user.email, note=note)
    except LifecycleError as exc:
        return versions_page(page, error=str(exc), status_code=422)
    number = result.version.number
    with page.studio.uow() as uow:
        record_audit(uow, actor=page.user.email, action="script.publish",
                     subject=f"version {number}", at=page.studio.now(), detail=note)
        uow.commit()
    try:  # the draft now starts from the version just published
        save_draft(container.uow, draft.record.yaml_text, revision=draft.record.revision,
                   by=page.user.email, now=page.studio.now(), base_version=number,
                   keep_base=False)
    except DraftConflict:
        pass  # someone edited meanwhile: their draft stays as it is
    warnings = "; ".join(result.warnings)
    done = f"Published version {number}." + (f" Warnings: {warnings}" if warnings else "")
    return versions_page(page, message=done)


def rollback(page: Page) -> Response:
    container = page.studio.container
    note = page.field("note").strip()[:MAX_NOTE]
    try:
        number = int(page.field("version"))
    except ValueError:
        return versions_page(page, error="pick a version to roll back to", status_code=422)
    try:
        deployment = lifecycle_of(container).rollback(number, author=page.user.email, note=note)
    except LifecycleError as exc:
        return versions_page(page, error=str(exc), status_code=422)
    with page.studio.uow() as uow:
        record_audit(uow, actor=page.user.email, action="script.rollback",
                     subject=f"version {deployment.version}", at=page.studio.now(),
                     detail=note)
        uow.commit()
    return versions_page(
        page, message=f"Rolled back: version {deployment.version} is served again.")


def version_diff(page: Page) -> Response:
    lifecycle = lifecycle_of(page.studio.container)
    try:
        before, after = int(page.query.get("from", "")), int(page.query.get("to", ""))
        diff = lifecycle.diff(before, after)
    except ValueError:
        return versions_page(page, error="pick two versions to compare", status_code=422)
    except LifecycleError as exc:
        return versions_page(page, error=str(exc), status_code=422)
    return page.render("version_diff.html", diff=diff, before=before, after=after)


ROUTES = [
    get("/versions", versions),
    get("/versions/diff", version_diff),
    post("/versions/replay", replay, role="marketer"),
    post("/versions/publish", publish, role="marketer"),
    post("/versions/rollback", rollback, role="marketer"),
]

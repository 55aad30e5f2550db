"""Admins read the audit log: publishes, rollbacks, experiment and account changes."""

from __future__ import annotations

from starlette.responses import Response

from bot.studio.web import Page, get
from storage.audit import AuditRepository

PER_PAGE = 50


def audit_page(page: Page) -> Response:
    action = page.query.get("action", "").strip() or None
    try:
        number = max(1, int(page.query.get("page", "1")))
    except ValueError:
        number = 1
    with page.studio.uow() as uow:
        audit = AuditRepository(uow.session)
        total = audit.count(action=action)
        entries = [{"at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
                    "detail": e.detail}
                   for e in audit.page(offset=(number - 1) * PER_PAGE, limit=PER_PAGE,
                                       action=action)]
    return page.render("audit.html", entries=entries, action=action or "", page_number=number,
                       pages=max(1, -(-total // PER_PAGE)), total=total)


ROUTES = [get("/audit", audit_page, role="admin")]

"""The layout's navigation and the variables every template gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.studio.roles import Role, allows

if TYPE_CHECKING:
    from bot.studio.web import Page


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str  # under /studio
    role: Role = "viewer"


# The workspace's sections in menu order. An item shows once a route serves its path
# and the user's role may read it.
NAV: tuple[NavItem, ...] = (
    NavItem("Script", "/script"),
    NavItem("Preview", "/preview"),
    NavItem("Versions", "/versions"),
    NavItem("Experiments", "/experiments"),
    NavItem("Inbox", "/inbox"),
    NavItem("Funnel", "/funnel"),
    NavItem("Leads", "/leads"),
    NavItem("Users", "/users", role="admin"),
    NavItem("Audit", "/audit", role="admin"),
)


def visible_nav(role: Role, paths: frozenset[str]) -> list[NavItem]:
    return [item for item in NAV if item.path in paths and allows(role, item.role)]


def layout_context(page: Page) -> dict[str, Any]:
    from bot.studio.web import PREFIX

    current = page.request.url.path.removeprefix(page.request.scope.get("root_path", ""))
    return {
        "user": page.user,
        "csrf_token": page.csrf_token,
        "nav": visible_nav(page.user.role, page.studio.paths),
        "current": current,
        "prefix": PREFIX,
        "static": f"{PREFIX}/static",
    }

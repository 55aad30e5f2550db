"""How a workspace page is declared: `get`/`post` routes with a role, and the `Page` they receive.

Every route is a `StudioRoute`: the guard middleware (bot/studio/guard.py) has already
checked the session and, for a POST, the CSRF token; the route then checks the role and
calls the handler with a `Page`. Handlers may be plain functions (run in a thread, so they
can use the synchronous unit of work) or coroutines.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import Environment
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.bootstrap import Container
from bot.studio.accounts import LockoutPolicy, SignedInUser
from bot.studio.roles import Role, allows
from bot.studio.sessions import SessionSigner
from storage.unit_of_work import UnitOfWork

PREFIX = "/studio"


@dataclass
class Studio:
    """What every page may use: the container (service, database, script, clock), templates."""

    container: Container
    templates: Environment
    signer: SessionSigner
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    # Paths (under /studio) that have a route: the navigation shows only those.
    paths: frozenset[str] = frozenset()

    def uow(self) -> UnitOfWork:
        return self.container.uow()

    def now(self) -> datetime:
        return self.container.clock()


@dataclass
class Page:
    """One request to a workspace page, from a signed-in user allowed to see it."""

    request: Request
    user: SignedInUser
    studio: Studio
    csrf_token: str
    form: FormData | None = None  # parsed body of a POST

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params

    def field(self, name: str, default: str = "") -> str:
        """A form field as text ('' when absent or a file)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """Render `template` with the layout's variables (user, csrf_token, nav, url)."""
        from bot.studio.layout import layout_context

        html = self.studio.templates.get_template(template).render(
            **layout_context(self), **context)
        return HTMLResponse(html, status_code=status_code)

    def redirect(self, path: str) -> RedirectResponse:
        """303 to a path under /studio (after a POST: the browser then GETs it)."""
        return RedirectResponse(PREFIX + path, status_code=303)

    def allowed(self, needed: Role) -> bool:
        return allows(self.user.role, needed)


Handler = Callable[[Page], Response] | Callable[[Page], Awaitable[Response]]


class StudioRoute(Route):
    """A route under /studio that needs a session and at least `role`."""

    def __init__(self, path: str, handler: Handler, *, role: Role, method: str,
                 name: str | None = None) -> None:
        self.role: Role = role
        self.handler = handler

        async def endpoint(request: Request) -> Response:
            return await _call(request, handler, role)

        super().__init__(path, endpoint, methods=[method], name=name or handler.__name__)


def get(path: str, handler: Handler, *, role: Role = "viewer") -> StudioRoute:
    """A page anyone with `role` (or above) may read."""
    return StudioRoute(path, handler, role=role, method="GET")


def post(path: str, handler: Handler, *, role: Role) -> StudioRoute:
    """A change: needs `role`; the CSRF token was checked before the handler runs."""
    return StudioRoute(path, handler, role=role, method="POST")


async def _call(request: Request, handler: Handler, role: Role) -> Response:
    user: SignedInUser | None = getattr(request.state, "studio_user", None)
    studio: Studio = request.state.studio
    if user is None:  # the guard lets no request through without a user; never trust that
        return Response("sign in first", status_code=401)
    page = Page(request=request, user=user, studio=studio,
                csrf_token=request.state.studio_csrf)
    if not allows(user.role, role):
        return page.render("forbidden.html", status_code=403, needed=role)
    if request.method == "POST":
        page.form = await request.form()
    if inspect.iscoroutinefunction(handler):
        result: Response = await handler(page)
        return result
    return await asyncio.to_thread(handler, page)  # type: ignore[arg-type]

"""The workspace as one Starlette Mount at /studio: pages, static files, the guard."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.bootstrap import Container
from bot.studio.accounts import LockoutPolicy
from bot.studio.guard import StudioGuard
from bot.studio.pages import funnel, leads
from bot.studio.pages import account, audit, users
from bot.studio.pages import experiments, inbox, preview, script, versions
from bot.studio.sessions import SessionSigner, stored_secret_key
from bot.studio.web import PREFIX, Studio, StudioRoute

# Every page module's routes. To add a page: write bot/studio/pages/<name>.py with a
# `ROUTES` list and add it here (see bot/studio/__init__.py).
PAGE_ROUTES: tuple[list[StudioRoute], ...] = (
    account.ROUTES,
    funnel.ROUTES,
    leads.ROUTES,
    users.ROUTES,
    audit.ROUTES,
    script.ROUTES,
    preview.ROUTES,
    versions.ROUTES,
    experiments.ROUTES,
    inbox.ROUTES,
)


def secret_key(container: Container) -> str:
    configured = container.settings.leadbot_secret_key
    if configured is not None:
        return configured.get_secret_value()
    return stored_secret_key(container.uow, now=container.clock())


def studio_routes() -> list[StudioRoute]:
    return [route for routes in PAGE_ROUTES for route in routes]


def studio_mount(container: Container, *, lockout: LockoutPolicy | None = None) -> Mount:
    """The workspace, ready to add to the app's routes."""
    templates = _environment()
    pages = studio_routes()
    studio = Studio(container=container, templates=templates,
                    signer=SessionSigner(lambda: secret_key(container)),
                    lockout=lockout or LockoutPolicy(),
                    paths=frozenset(route.path for route in pages))
    routes: list[BaseRoute] = [*account.PUBLIC_ROUTES, *pages,
                               Mount("/static", StaticFiles(packages=[("bot.studio", "static")]),
                                     name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(StudioGuard, studio=studio)])
    return Mount(PREFIX, app=app, name="studio")


def front_door() -> Route:
    """GET / → the workspace, so the bare address of the app opens it."""

    async def redirect(_request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=302)

    return Route("/", redirect, methods=["GET"])


def _environment() -> Environment:
    # Autoescaping on for .html: a prospect's words are always shown as text.
    return Environment(loader=PackageLoader("bot.studio", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)

"""Helpers for workspace tests: a container with a settable clock, accounts, a signed-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from bot.bootstrap import Container, build
from bot.settings import Settings
from bot.studio.accounts import add_user, change_password
from bot.studio.roles import Role
from bot.web.app import WebParts, create_app
from storage.models import StudioUser

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def studio_container(database_url: str, clock: Clock | None = None) -> Iterator[Container]:
    container = build(Settings(database_url=database_url), clock=clock or Clock())
    try:
        yield container
    finally:
        container.close()


def make_user(container: Container, email: str, role: Role, *,
              password: str = PASSWORD) -> str:
    """An account whose own password is `password` (the one-time one already changed)."""
    with container.uow() as uow:
        first = add_user(uow, email=email, role=role, actor="test", now=container.clock())
        uow.commit()
    with container.uow() as uow:
        user = uow.session.scalars(select(StudioUser.id).where(StudioUser.email == email)).one()
        change_password(uow, user_id=user, current=first, new=password, now=container.clock())
        uow.commit()
    return email


def studio_app(container: Container) -> Starlette:
    """`leadbot serve`'s app (the same factory) for this container."""
    return create_app(WebParts(container=container))


def client(app: Starlette, *, address: str = "127.0.0.1", https: bool = False
           ) -> httpx.AsyncClient:
    """An HTTP client calling `app` in process (no server), from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    base = "https://studio.test" if https else "http://studio.test"
    return httpx.AsyncClient(transport=transport, base_url=base)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD
                  ) -> httpx.Response:
    """Post the sign-in form as a browser would; returns the answer (303 on success)."""
    page = await http.get("/studio/login")
    return await http.post("/studio/login", data={
        "email": email, "password": password, "csrf_token": csrf_from(page.text),
        "next": "/studio/"})


async def signed_in(http: httpx.AsyncClient, email: str) -> str:
    """Sign in (asserting it worked); returns the session's CSRF token."""
    response = await sign_in(http, email)
    assert response.status_code == 303, response.text
    return csrf_from((await http.get("/studio/account/password")).text)

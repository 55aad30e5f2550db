"""Workspace security: sessions, CSRF, roles, lock-out and cookies, over every /studio route.

The route tests enumerate the mount's routes, so a page added later is covered without
editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from bot.bootstrap import Container
from bot.studio.accounts import LockoutPolicy
from bot.studio.roles import ROLES, Role
from bot.studio.web import StudioRoute
from storage.models import Base
from tests.studio_support import (
    PASSWORD,
    Clock,
    client,
    csrf_from,
    make_user,
    sign_in,
    signed_in,
    studio_app,
    studio_container,
)

EMAILS: dict[Role, str] = {role: f"{role}@example.com" for role in ROLES}
PUBLIC_PATHS = {"/login", "/static"}
_PARAM = re.compile(r"{[^}]+}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def container(sqlite_url: str, clock: Clock) -> Iterator[Container]:
    with studio_container(sqlite_url, clock) as built:
        for role, email in EMAILS.items():
            make_user(built, email, role)
        yield built


def studio_mount(app: Starlette) -> Mount:
    [mount] = [r for r in app.routes if isinstance(r, Mount) and r.path == "/studio"]
    return mount


def studio_routes(app: Starlette) -> list[StudioRoute]:
    return [r for r in studio_mount(app).routes if isinstance(r, StudioRoute)]


def concrete(path: str) -> str:
    return "/studio" + _PARAM.sub("1", path)


def snapshot(container: Container) -> dict[str, list[Any]]:
    """Every row of every table: what a refused request must leave as it was."""
    with container.engine.connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(select(table))]
                for table in Base.metadata.sorted_tables}


FORM = {"email": "new@example.com", "role": "admin", "note": "x", "password": "p",
        "new_password": "0123456789ab", "new_password_again": "0123456789ab"}


def test_every_route_is_a_guarded_studio_route(container: Container) -> None:
    app = studio_app(container)
    routes = studio_mount(app).routes
    assert len(studio_routes(app)) >= 4
    for route in routes:
        path = getattr(route, "path", "")
        assert isinstance(route, StudioRoute) or path in PUBLIC_PATHS, (
            f"{path} is not declared with bot.studio.web.get/post: it has no role check")
    for route in routes:  # the sign-in page and static files are the only public things
        if isinstance(route, Route) and not isinstance(route, StudioRoute):
            assert route.path == "/login"


async def test_no_route_answers_without_a_session(container: Container) -> None:
    app = studio_app(container)
    async with client(app) as http:
        await http.get("/studio/login")  # the first request stores the signing key
        before = snapshot(container)
        for route in studio_routes(app):
            for method in route.methods or ():
                if method == "HEAD":
                    continue
                response = await http.request(method, concrete(route.path), data=FORM)
                expected = {302} if method == "GET" else {401}
                assert response.status_code in expected, (method, route.path)
                if method == "GET":
                    assert response.headers["location"].startswith("/studio/login?next=")
        # a forged cookie is no session either
        http.cookies.set("leadbot_studio", "eyJ1IjoxLCJlIjowLCJjIjoieCJ9.forged.sig",
                         domain="studio.test", path="/studio")
        assert (await http.get("/studio/")).status_code == 302
    assert snapshot(container) == before


async def test_a_role_below_the_route_s_is_refused(container: Container) -> None:
    app = studio_app(container)
    below: dict[Role, Role] = {"marketer": "viewer", "admin": "marketer"}
    checked = 0
    for route in studio_routes(app):
        if route.role == "viewer":
            continue
        async with client(app) as http:
            token = await signed_in(http, EMAILS[below[route.role]])
            before = snapshot(container)
            for method in route.methods or ():
                if method == "HEAD":
                    continue
                response = await http.request(method, concrete(route.path),
                                              data={**FORM, "csrf_token": token})
                assert response.status_code == 403, (method, route.path, response.text)
                checked += 1
            assert snapshot(container) == before
    assert checked > 0


async def test_a_post_without_the_csrf_token_changes_nothing(container: Container) -> None:
    app = studio_app(container)
    posts = [r for r in studio_routes(app) if "POST" in (r.methods or ())]
    assert posts
    async with client(app) as http:
        token = await signed_in(http, EMAILS["admin"])
        before = snapshot(container)
        for route in posts:
            for data in (FORM, {**FORM, "csrf_token": "not-the-token"},
                         {**FORM, "csrf_token": token[:-1]}):
                response = await http.post(concrete(route.path), data=data)
                assert response.status_code == 403, route.path
                assert "CSRF" in response.text
        assert snapshot(container) == before
        # the header works as well as the field (htmx sends the header)
        response = await http.post("/studio/logout", headers={"X-CSRF-Token": token})
        assert response.status_code == 303


async def test_sign_in_form_needs_its_csrf_token(container: Container) -> None:
    async with client(studio_app(container)) as http:
        await http.get("/studio/login")
        response = await http.post("/studio/login", data={
            "email": EMAILS["admin"], "password": PASSWORD, "csrf_token": "wrong"})
        assert response.status_code == 403
        assert "leadbot_studio=" not in response.headers.get("set-cookie", "")


async def test_wrong_passwords_lock_the_account_for_15_minutes(
        database_url: str, clock: Clock) -> None:
    with studio_container(database_url, clock) as container:
        make_user(container, "ann@example.com", "marketer")
        async with client(studio_app(container)) as http:
            for _ in range(LockoutPolicy().account_failures):
                answer = await sign_in(http, "ann@example.com", "wrong password!")
                assert answer.status_code == 401 and "Wrong email or password" in answer.text
            locked = await sign_in(http, "ann@example.com")  # the right password, too late
            assert locked.status_code == 401
            assert "Try again in 15 minutes" in locked.text
            clock.advance(minutes=14, seconds=59)
            assert (await sign_in(http, "ann@example.com")).status_code == 401
            clock.advance(seconds=1)
            assert (await sign_in(http, "ann@example.com")).status_code == 303


async def test_many_failures_from_one_address_lock_that_address(container: Container,
                                                                 clock: Clock) -> None:
    policy = LockoutPolicy()
    app = studio_app(container)
    async with client(app, address="203.0.113.9") as attacker:
        for number in range(policy.address_failures):  # spread over many accounts
            await sign_in(attacker, f"guess{number % 7}@example.com", "nope-nope-nope")
        refused = await sign_in(attacker, EMAILS["viewer"])
        assert refused.status_code == 401 and "Too many failed sign-ins" in refused.text
    async with client(app, address="198.51.100.7") as colleague:
        assert (await sign_in(colleague, EMAILS["viewer"])).status_code == 303
    clock.advance(minutes=15)
    async with client(app, address="203.0.113.9") as later:
        assert (await sign_in(later, EMAILS["viewer"])).status_code == 303


@pytest.mark.parametrize("https", [False, True])
async def test_session_cookie_flags(container: Container, https: bool) -> None:
    async with client(studio_app(container), https=https) as http:
        response = await sign_in(http, EMAILS["viewer"])
        cookie = next(value for name, value in response.headers.multi_items()
                      if name == "set-cookie" and value.startswith("leadbot_studio="))
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in flags and "samesite=lax" in flags and "path=/studio" in flags
        assert ("secure" in flags) is https


async def test_disabling_an_account_ends_its_sessions(container: Container) -> None:
    from bot.studio.accounts import disable_user

    async with client(studio_app(container)) as http:
        await signed_in(http, EMAILS["marketer"])
        assert (await http.get("/studio/account/password")).status_code == 200
        with container.uow() as uow:
            disable_user(uow, email=EMAILS["marketer"], actor="test", now=container.clock())
            uow.commit()
        assert (await http.get("/studio/account/password")).status_code == 302
        assert (await sign_in(http, EMAILS["marketer"])).status_code == 401


async def test_sign_in_never_redirects_off_the_workspace(container: Container) -> None:
    async with client(studio_app(container)) as http:
        page = await http.get("/studio/login?next=https://evil.example/")
        assert "evil" not in page.text
        response = await http.post("/studio/login", data={
            "email": EMAILS["viewer"], "password": PASSWORD, "csrf_token": csrf_from(page.text),
            "next": "//evil.example/x"})
        assert response.headers["location"] == "/studio/"


async def test_metrics_and_health_need_no_workspace_session(container: Container) -> None:
    async with client(studio_app(container)) as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        front = await http.get("/")  # the app's bare address opens the workspace
        assert front.status_code == 302 and front.headers["location"] == "/studio/"


async def test_one_time_password_must_be_changed_first(container: Container) -> None:
    from bot.studio.accounts import add_user

    with container.uow() as uow:
        first = add_user(uow, email="new@example.com", role="viewer", actor="t",
                         now=container.clock())
        uow.commit()
    async with client(studio_app(container)) as http:
        assert (await sign_in(http, "new@example.com", first)).status_code == 303
        assert (await http.get("/studio/")).headers["location"] == "/studio/account/password"
        token = csrf_from((await http.get("/studio/account/password")).text)
        short = await http.post("/studio/account/password", data={
            "csrf_token": token, "password": first, "new_password": "short",
            "new_password_again": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        changed = await http.post("/studio/account/password", data={
            "csrf_token": token, "password": first, "new_password": "a new long password",
            "new_password_again": "a new long password"})
        assert changed.status_code == 303
        assert (await http.get("/studio/", follow_redirects=False)).status_code == 302
        assert (await http.get("/studio/account/password")).status_code == 200
    async with client(studio_app(container)) as again:
        assert (await sign_in(again, "new@example.com", first)).status_code == 401
        assert (await sign_in(again, "new@example.com", "a new long password")).status_code == 303

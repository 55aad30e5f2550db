"""Admins manage accounts: add (one-time password shown once), role, disable, reset password."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from bot.studio.accounts import (
    AccountError,
    add_user,
    disable_user,
    enable_user,
    reset_password,
    set_role,
)
from bot.studio.roles import ROLES, parse_role
from bot.studio.web import Page, get, post
from storage.accounts import StudioUserRepository
from storage.unit_of_work import UnitOfWork


def _render(page: Page, *, status_code: int = 200, error: str = "", shown: str = "",
            shown_for: str = "") -> Response:
    with page.studio.uow() as uow:
        accounts = [
            {"email": u.email, "role": u.role, "disabled": u.disabled_at is not None,
             "one_time": u.must_change_password, "last_login_at": u.last_login_at,
             "created_at": u.created_at}
            for u in StudioUserRepository(uow.session).all()]
    return page.render("users.html", status_code=status_code, accounts=accounts, roles=ROLES,
                       error=error, one_time_password=shown, one_time_for=shown_for)


def users_page(page: Page) -> Response:
    return _render(page)


def _change(page: Page, action: Callable[[UnitOfWork], str | None], email: str) -> Response:
    try:
        with page.studio.uow() as uow:
            password = action(uow)
            uow.commit()
    except (AccountError, ValueError) as exc:
        return _render(page, status_code=400, error=str(exc))
    if password:  # shown once, on this answer only (never stored in clear)
        return _render(page, shown=password, shown_for=email.strip().lower())
    return page.redirect("/users")


def add(page: Page) -> Response:
    email = page.field("email")
    return _change(page, lambda uow: add_user(
        uow, email=email, role=parse_role(page.field("role")), actor=page.user.email,
        now=page.studio.now()), email)


def change_role(page: Page) -> Response:
    email = page.field("email")

    def act(uow: UnitOfWork) -> None:
        set_role(uow, email=email, role=parse_role(page.field("role")), actor=page.user.email,
                 now=page.studio.now())

    return _change(page, act, email)


def disable(page: Page) -> Response:
    email = page.field("email")

    def act(uow: UnitOfWork) -> None:
        disable_user(uow, email=email, actor=page.user.email, now=page.studio.now())

    return _change(page, act, email)


def enable(page: Page) -> Response:
    email = page.field("email")

    def act(uow: UnitOfWork) -> None:
        enable_user(uow, email=email, actor=page.user.email, now=page.studio.now())

    return _change(page, act, email)


def reset(page: Page) -> Response:
    email = page.field("email")
    return _change(page, lambda uow: reset_password(
        uow, email=email, actor=page.user.email, now=page.studio.now()), email)


ROUTES = [
    get("/users", users_page, role="admin"),
    post("/users/add", add, role="admin"),
    post("/users/role", change_role, role="admin"),
    post("/users/disable", disable, role="admin"),
    post("/users/enable", enable, role="admin"),
    post("/users/reset-password", reset, role="admin"),
]

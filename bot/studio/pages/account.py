"""Sign in, sign out, change your password, and the workspace's front door."""

from __future__ import annotations

from urllib.parse import urlsplit

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.studio.accounts import AccountError, LockoutPolicy, change_password, sign_in
from bot.studio.layout import visible_nav
from bot.studio.sessions import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    SessionData,
    new_csrf_token,
)
from bot.studio.web import PREFIX, Page, Studio, get, post
from storage.accounts import StudioUserRepository


def _safe_next(target: str) -> str:
    """Only a path inside the workspace: never an open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(PREFIX + "/") \
            or target.startswith("//"):
        return PREFIX + "/"
    return target


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int
                ) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


def _login_form(request: Request, studio: Studio, *, error: str = "", email: str = "",
                status: int = 200, next_path: str | None = None) -> Response:
    token = studio.signer.load_login_token(request.cookies.get(LOGIN_COOKIE))
    fresh = token is None
    token = token or new_csrf_token()
    templates: Environment = studio.templates
    html = templates.get_template("login.html").render(
        csrf_token=token, error=error, email=email, prefix=PREFIX, static=f"{PREFIX}/static",
        next=_safe_next(next_path or request.query_params.get("next", PREFIX + "/")))
    response = HTMLResponse(html, status_code=status)
    if fresh:
        _set_cookie(response, request, LOGIN_COOKIE, studio.signer.dump_login_token(token),
                    LOGIN_SECONDS)
    return response


async def login_page(request: Request) -> Response:
    return _login_form(request, request.state.studio)


async def login_submit(request: Request) -> Response:
    import asyncio

    studio: Studio = request.state.studio
    form = await request.form()
    email = str(form.get("email") or "")
    password = str(form.get("password") or "")
    address = request.client.host if request.client else "unknown"
    policy: LockoutPolicy = studio.lockout

    def check() -> tuple[SessionData | None, str]:
        with studio.uow() as uow:
            result = sign_in(uow, email=email, password=password, address=address,
                             now=studio.now(), policy=policy)
            uow.commit()
        if result.locked_until is not None:
            minutes = max(1, -(-int((result.locked_until - studio.now()).total_seconds()) // 60))
            return None, (f"Too many failed sign-ins. Try again in {minutes} minute"
                          f"{'s' if minutes > 1 else ''}, or ask an admin to reset your password.")
        if result.user is None:
            return None, "Wrong email or password."
        return SessionData(user_id=result.user.id, epoch=result.user.session_epoch,
                           csrf=new_csrf_token()), ""

    session, error = await asyncio.to_thread(check)
    if session is None:
        return _login_form(request, studio, error=error, email=email, status=401,
                           next_path=str(form.get("next") or ""))
    target = _safe_next(str(form.get("next") or PREFIX + "/"))
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, studio.signer.dump(session), SESSION_SECONDS)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


def logout(page: Page) -> Response:
    """Sign out here and on every other device (the account's older cookies stop working)."""
    with page.studio.uow() as uow:
        user = StudioUserRepository(uow.session).get(page.user.id)
        if user is not None:
            user.session_epoch += 1
        uow.commit()
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def home(page: Page) -> Response:
    items = visible_nav(page.user.role, page.studio.paths)
    return RedirectResponse(PREFIX + (items[0].path if items else "/account/password"), 302)


def password_page(page: Page) -> Response:
    return page.render("password.html", error="")


def password_submit(page: Page) -> Response:
    new, again = page.field("new_password"), page.field("new_password_again")
    if new != again:
        return page.render("password.html", status_code=400,
                           error="The two new passwords differ; type the same one twice.")
    try:
        with page.studio.uow() as uow:
            user = change_password(uow, user_id=page.user.id, current=page.field("password"),
                                   new=new, now=page.studio.now())
            uow.commit()
    except AccountError as exc:
        return page.render("password.html", status_code=400, error=f"{str(exc)[:1].upper()}"
                           f"{str(exc)[1:]}.")
    # The change voided older cookies: issue a new one for this browser.
    response = RedirectResponse(PREFIX + "/", status_code=303)
    _set_cookie(response, page.request, SESSION_COOKIE, page.studio.signer.dump(
        SessionData(user_id=user.id, epoch=user.session_epoch, csrf=page.csrf_token)),
        SESSION_SECONDS)
    return response


PUBLIC_ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
]

ROUTES = [
    get("/", home),
    post("/logout", logout, role="viewer"),
    get("/account/password", password_page),
    post("/account/password", password_submit, role="viewer"),
]

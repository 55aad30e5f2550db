"""The gate in front of every /studio route: a valid session, and a CSRF token on each change.

It runs before routing, so a page added without the `get`/`post` helpers is still
protected. Only the sign-in page and the static files are public. A POST, PUT, PATCH
or DELETE must carry the session's CSRF token, in the `csrf_token` form field or the
`X-CSRF-Token` header (htmx sends it from the layout); otherwise nothing runs.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.studio.accounts import SignedInUser, active_user
from bot.studio.sessions import LOGIN_COOKIE, SESSION_COOKIE
from bot.studio.web import PREFIX, Studio

PUBLIC = ("/login", "/static/")
PASSWORD_PAGE = "/account/password"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 4 * 1024 * 1024
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def route_path(scope: Scope) -> str:
    """The path inside the workspace ("/leads" for /studio/leads)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _is_public(path: str) -> bool:
    return path == PUBLIC[0] or path.startswith(PUBLIC[1])


class StudioGuard:
    def __init__(self, app: ASGIApp, studio: Studio) -> None:
        self.app = app
        self.studio = studio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["studio"] = self.studio
        if not self.studio.signer.ready:
            await asyncio.to_thread(self.studio.signer.prepare)
        path = route_path(scope)
        method: str = scope["method"]
        request = Request(scope)
        body = b""
        if method not in SAFE_METHODS:
            read = await _read_body(receive)
            if read is None:
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            body = read
        if _is_public(path):
            if method not in SAFE_METHODS:
                expected = self.studio.signer.load_login_token(request.cookies.get(LOGIN_COOKIE))
                if not await _csrf_ok(scope, _replay(body, receive), expected):
                    await _refuse_csrf(scope, receive, send)
                    return
            await self.app(scope, _replay(body, receive), send)
            return
        session = self.studio.signer.load(request.cookies.get(SESSION_COOKIE))
        user: SignedInUser | None = None
        if session is not None:
            user = await asyncio.to_thread(self._user, session.user_id, session.epoch)
        if session is None or user is None:
            await _unauthenticated(request, path)(scope, receive, send)
            return
        if user.must_change_password and path not in (PASSWORD_PAGE, "/logout"):
            await RedirectResponse(PREFIX + PASSWORD_PAGE, 303)(scope, receive, send)
            return
        if method not in SAFE_METHODS and not await _csrf_ok(
                scope, _replay(body, receive), session.csrf):
            await _refuse_csrf(scope, receive, send)
            return
        scope["state"]["studio_user"] = user
        scope["state"]["studio_csrf"] = session.csrf
        await self.app(scope, _replay(body, receive), send)

    def _user(self, user_id: int, epoch: int) -> SignedInUser | None:
        with self.studio.uow() as uow:
            return active_user(uow, user_id=user_id, epoch=epoch)


def _unauthenticated(request: Request, path: str) -> Response:
    if request.method in SAFE_METHODS and "hx-request" not in request.headers:
        target = PREFIX + path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", 302)
    response = PlainTextResponse("sign in to the workspace first", 401)
    response.headers["HX-Redirect"] = f"{PREFIX}/login"
    return response


async def _refuse_csrf(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse(
        "this form has expired or did not come from the workspace (missing or wrong CSRF "
        "token); reload the page and try again", 403)
    await response(scope, receive, send)


async def _csrf_ok(scope: Scope, receive: Receive, expected: str | None) -> bool:
    if not expected:
        return False
    request = Request(scope, receive)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
            await form.close()
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A one-reader `receive`: the buffered body once, then the real channel (disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = dict(await receive())
        return message

    return replayed

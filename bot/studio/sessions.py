"""Signed session cookies and the secret key that signs them.

The cookie holds the user id, the account's session epoch (bumped on disable, role or
password change, so older cookies stop working) and the session's CSRF token, signed
with `LEADBOT_SECRET_KEY` (itsdangerous, HMAC-SHA1 over a timestamped payload). When that
variable is not set, a random key is generated on first start and kept in the database
(table `key_values`, key `studio.secret_key`), so every process shares it and sessions
survive restarts.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from storage.unit_of_work import UnitOfWork

SESSION_COOKIE = "leadbot_studio"
LOGIN_COOKIE = "leadbot_studio_login"  # carries the sign-in form's CSRF token
SESSION_SECONDS = 12 * 3600  # a session lasts 12 hours, then sign in again
LOGIN_SECONDS = 3600
_KEY_NAME = "studio.secret_key"


def stored_secret_key(factory: Callable[[], UnitOfWork], *, now: datetime) -> str:
    """The key kept in the database, generated on first call (first writer wins)."""
    with factory() as uow:
        row = uow.key_values.get_locked(_KEY_NAME)
        if row is not None:
            return str(row.value["key"])
        uow.key_values.put(_KEY_NAME, {"key": secrets.token_urlsafe(48)}, now=now)
        try:
            uow.commit()
        except IntegrityError:  # another process stored its key first: use that one
            uow.rollback()
    with factory() as uow:
        row = uow.key_values.get_locked(_KEY_NAME)
        assert row is not None
        return str(row.value["key"])


@dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int
    epoch: int
    csrf: str


class SessionSigner:
    """Turns session data into a cookie value and back (None when forged or expired).

    The key is read on first use (`prepare`, from a thread), not when the app is built:
    the app can be assembled before the database is reachable or migrated.
    """

    def __init__(self, secret_key: Callable[[], str]) -> None:
        self._key_source = secret_key
        self._serializers: tuple[URLSafeTimedSerializer, URLSafeTimedSerializer] | None = None

    @property
    def ready(self) -> bool:
        return self._serializers is not None

    def prepare(self) -> None:
        if self._serializers is None:
            key = self._key_source()
            self._serializers = (URLSafeTimedSerializer(key, salt="leadbot.studio.session"),
                                 URLSafeTimedSerializer(key, salt="leadbot.studio.login"))

    @property
    def _sessions(self) -> URLSafeTimedSerializer:
        self.prepare()
        assert self._serializers is not None
        return self._serializers[0]

    @property
    def _login(self) -> URLSafeTimedSerializer:
        self.prepare()
        assert self._serializers is not None
        return self._serializers[1]

    def dump(self, data: SessionData) -> str:
        return self._sessions.dumps({"u": data.user_id, "e": data.epoch, "c": data.csrf})

    def load(self, value: str | None) -> SessionData | None:
        if not value:
            return None
        try:
            raw = self._sessions.loads(value, max_age=SESSION_SECONDS)
            return SessionData(user_id=int(raw["u"]), epoch=int(raw["e"]), csrf=str(raw["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def dump_login_token(self, token: str) -> str:
        return self._login.dumps(token)

    def load_login_token(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            token = self._login.loads(value, max_age=LOGIN_SECONDS)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)

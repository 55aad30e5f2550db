"""Workspace accounts: add, disable, reset, change password, and sign in with lock-out.

The rules (who may sign in, when an account or an address is locked) live here; the CLI
(`leadbot users …`) and the pages only call these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.studio.passwords import (
    hash_password,
    needs_rehash,
    one_time_password,
    password_problem,
    verify_password,
)
from bot.studio.roles import Role, parse_role
from storage.accounts import LoginFailureRepository, StudioUserRepository
from storage.audit import record_audit
from storage.models import StudioUser
from storage.unit_of_work import UnitOfWork

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
FIRST_ADMIN_EMAIL = "admin@localhost"


class AccountError(Exception):
    """A request about accounts that cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """N wrong passwords within `window` lock the account (or the address) for `window`."""

    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who a request comes from, as the pages see it."""

    id: int
    email: str
    role: Role
    session_epoch: int
    must_change_password: bool


def user_view(user: StudioUser) -> SignedInUser:
    return SignedInUser(id=user.id, email=user.email, role=parse_role(user.role),
                        session_epoch=user.session_epoch,
                        must_change_password=user.must_change_password)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise AccountError(f"{email!r} is not an email address")
    return email


def add_user(uow: UnitOfWork, *, email: str, role: Role, actor: str, now: datetime) -> str:
    """Create an account; returns its one-time password (to show once)."""
    email = normalise_email(email)
    users = StudioUserRepository(uow.session)
    if users.by_email(email) is not None:
        raise AccountError(f"{email} already has an account; use `leadbot users reset-password`")
    password = one_time_password()
    try:
        users.add(StudioUser(email=email, role=role, password_hash=hash_password(password),
                             must_change_password=True, session_epoch=0, created_at=now))
    except IntegrityError as exc:  # added meanwhile by another process
        raise AccountError(f"{email} already has an account") from exc
    record_audit(uow, actor=actor, action="user.add", subject=email, detail=f"role {role}", at=now)
    return password


def ensure_first_admin(uow: UnitOfWork, *, now: datetime) -> str | None:
    """On a database without any account, create the first admin; its one-time password.

    Returns None when an account exists (or another process created the first one).
    """
    if StudioUserRepository(uow.session).count() > 0:
        return None
    try:
        return add_user(uow, email=FIRST_ADMIN_EMAIL, role="admin", actor="leadbot", now=now)
    except AccountError:  # another process created it between our count and our insert
        uow.rollback()
        return None


def _existing(uow: UnitOfWork, email: str) -> StudioUser:
    user = StudioUserRepository(uow.session).by_email(email)
    if user is None:
        raise AccountError(f"no account for {email.strip().lower()}; "
                           "see `leadbot users list`")
    return user


def _keep_an_admin(uow: UnitOfWork, user: StudioUser) -> None:
    """Refuse the change that would leave no active admin (nobody could manage users)."""
    admins = [u for u in StudioUserRepository(uow.session).all()
              if u.role == "admin" and u.disabled_at is None and u.id != user.id]
    if user.role == "admin" and user.disabled_at is None and not admins:
        raise AccountError(f"{user.email} is the last active admin; make someone else admin first")


def disable_user(uow: UnitOfWork, *, email: str, actor: str, now: datetime) -> None:
    user = _existing(uow, email)
    _keep_an_admin(uow, user)
    if user.disabled_at is None:
        user.disabled_at = now
        user.session_epoch += 1  # signs them out everywhere
    record_audit(uow, actor=actor, action="user.disable", subject=user.email, at=now)


def enable_user(uow: UnitOfWork, *, email: str, actor: str, now: datetime) -> None:
    user = _existing(uow, email)
    user.disabled_at = None
    record_audit(uow, actor=actor, action="user.enable", subject=user.email, at=now)


def set_role(uow: UnitOfWork, *, email: str, role: Role, actor: str, now: datetime) -> None:
    user = _existing(uow, email)
    if role != "admin":
        _keep_an_admin(uow, user)
    user.role = role
    user.session_epoch += 1
    record_audit(uow, actor=actor, action="user.role", subject=user.email,
                 detail=f"role {role}", at=now)


def reset_password(uow: UnitOfWork, *, email: str, actor: str, now: datetime) -> str:
    """A new one-time password for the account (and the end of its sessions and lock-out)."""
    user = _existing(uow, email)
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.session_epoch += 1
    LoginFailureRepository(uow.session).clear_account(user.email)
    record_audit(uow, actor=actor, action="user.reset-password", subject=user.email, at=now)
    return password


def change_password(uow: UnitOfWork, *, user_id: int, current: str, new: str,
                    now: datetime) -> SignedInUser:
    """The user's own change; returns them with the new session epoch."""
    user = StudioUserRepository(uow.session).get(user_id)
    if user is None or user.disabled_at is not None:
        raise AccountError("this account is no longer active")
    if not verify_password(user.password_hash, current):
        raise AccountError("the current password is wrong")
    problem = password_problem(new, email=user.email)
    if problem:
        raise AccountError(f"new password refused: {problem}")
    if new == current:
        raise AccountError("new password refused: choose a different one")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_epoch += 1
    record_audit(uow, actor=user.email, action="user.change-password", subject=user.email, at=now)
    return user_view(user)


@dataclass(frozen=True, slots=True)
class SignIn:
    user: SignedInUser | None = None
    locked_until: datetime | None = None  # set when refused because of the lock-out


def _locked_until(failures: list[datetime], limit: int, window: timedelta) -> datetime | None:
    # `failures` is newest first; locked while `limit` of them fall within the window.
    if len(failures) < limit:
        return None
    return failures[limit - 1] + window


def sign_in(uow: UnitOfWork, *, email: str, password: str, address: str,
            now: datetime, policy: LockoutPolicy) -> SignIn:
    """Check a password, counting failures per account and per address.

    A locked account or address is refused without looking at the password (and the
    refusal is not counted, so the lock ends on time).
    """
    account = email.strip().lower()[:320]
    failures = LoginFailureRepository(uow.session)
    since = now - policy.window
    locks = [t for t in (
        _locked_until(failures.recent_for_account(account, since=since),
                      policy.account_failures, policy.window),
        _locked_until(failures.recent_for_address(address, since=since),
                      policy.address_failures, policy.window),
    ) if t is not None and t > now]
    if locks:
        return SignIn(locked_until=max(locks))
    user = StudioUserRepository(uow.session).by_email(account)
    ok = user is not None and user.disabled_at is None \
        and verify_password(user.password_hash, password)
    if user is None:
        hash_password(password)  # same time as a real check: no account enumeration by timing
    if not ok or user is None:
        failures.add(account=account, address=address[:64], at=now)
        failures.forget_before(now - 4 * policy.window)
        return SignIn()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    failures.clear_account(account)
    return SignIn(user=user_view(user))


def active_user(uow: UnitOfWork, *, user_id: int, epoch: int) -> SignedInUser | None:
    """The signed-in user of a session cookie, unless disabled or signed out since."""
    user = StudioUserRepository(uow.session).get(user_id)
    if user is None or user.disabled_at is not None or user.session_epoch != epoch:
        return None
    return user_view(user)

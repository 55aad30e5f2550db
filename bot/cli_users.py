"""`leadbot users add|list|disable|enable|reset-password`: the workspace's accounts.

Registered on the main CLI with `main.add_command(users)`. Every change is written to
the audit log with the actor `cli:<os user>`. One-time passwords are printed once; their
owner chooses a new password at first sign-in.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.settings import Settings
from bot.studio.accounts import AccountError, add_user, disable_user, enable_user, reset_password
from bot.studio.roles import ROLES, parse_role
from storage import migrate
from storage.accounts import StudioUserRepository
from storage.database import create_database_engine, create_session_factory
from storage.unit_of_work import UnitOfWork


def fail(message: str) -> NoReturn:
    click.echo(f"leadbot: {message}", err=True)
    sys.exit(1)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _unit_of_work() -> Iterator[UnitOfWork]:
    try:
        settings = Settings()
    except ValidationError as exc:
        fail(f"{exc.errors()[0]['msg']}; fix the environment variable")
    engine = create_database_engine(settings.database_url)
    try:
        if settings.leadbot_auto_migrate:
            migrate.upgrade(engine)
        with UnitOfWork(create_session_factory(engine)) as uow:
            yield uow
    except OperationalError as exc:
        fail(f"cannot open the database {settings.database_url!r} ({exc.orig}); "
             "check DATABASE_URL (and run `leadbot db upgrade`)")
    except AccountError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def users() -> None:
    """Workspace accounts (/studio): viewers read, marketers edit and publish, admins manage users."""


@users.command("add")
@click.argument("email")
@click.option("--role", required=True, metavar="|".join(ROLES),
              help="viewer: reads; marketer: edits and publishes scripts; admin: also users.")
def users_add(email: str, role: str) -> None:
    """Create an account and print its one-time password."""
    try:
        chosen = parse_role(role)
    except ValueError as exc:
        fail(str(exc))
    with _unit_of_work() as uow:
        password = add_user(uow, email=email, role=chosen, actor=_actor(), now=_now())
        uow.commit()
    click.echo(f"added {email.strip().lower()} ({chosen}); one-time password: {password}")
    click.echo("It is shown only now; they choose their own password at first sign-in.")


@users.command("list")
def users_list() -> None:
    """Accounts, their role and status."""
    with _unit_of_work() as uow:
        accounts = StudioUserRepository(uow.session).all()
        lines = [(user.email, user.role, "disabled" if user.disabled_at else (
            "one-time password" if user.must_change_password else "active"),
            user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at
            else "never signed in") for user in accounts]
    if not lines:
        click.echo("no accounts yet: `leadbot users add EMAIL --role admin` creates one")
        return
    width = max(len(line[0]) for line in lines)
    for email, role, status, last in lines:
        click.echo(f"{email:<{width}}  {role:<8}  {status:<17}  {last}")


@users.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Stop an account signing in (its open sessions end at once)."""
    with _unit_of_work() as uow:
        disable_user(uow, email=email, actor=_actor(), now=_now())
        uow.commit()
    click.echo(f"disabled {email.strip().lower()}")


@users.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled account sign in again."""
    with _unit_of_work() as uow:
        enable_user(uow, email=email, actor=_actor(), now=_now())
        uow.commit()
    click.echo(f"enabled {email.strip().lower()}")


@users.command("reset-password")
@click.argument("email")
def users_reset_password(email: str) -> None:
    """Print a new one-time password (ends the account's sessions and its lock-out)."""
    with _unit_of_work() as uow:
        password = reset_password(uow, email=email, actor=_actor(), now=_now())
        uow.commit()
    click.echo(f"new one-time password for {email.strip().lower()}: {password}")
    click.echo("It is shown only now; they choose their own password at first sign-in.")

"""Workspace accounts: the rules (first admin once, last admin kept, resets) and `leadbot users`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.studio.accounts import (
    AccountError,
    LockoutPolicy,
    add_user,
    disable_user,
    ensure_first_admin,
    reset_password,
    set_role,
    sign_in,
)
from storage.models import StudioAuditEntry
from tests.studio_support import Clock, make_user, studio_container


def test_the_first_admin_is_created_once(database_url: str) -> None:
    with studio_container(database_url) as container:
        with container.uow() as uow:
            first = ensure_first_admin(uow, now=container.clock())
            uow.commit()
        with container.uow() as uow:
            assert ensure_first_admin(uow, now=container.clock()) is None
        assert first is not None and len(first) >= 16
        with container.uow() as uow:
            result = sign_in(uow, email="admin@localhost", password=first, address="127.0.0.1",
                             now=container.clock(), policy=LockoutPolicy())
        assert result.user is not None and result.user.must_change_password


def test_the_last_active_admin_stays(sqlite_url: str) -> None:
    with studio_container(sqlite_url) as container:
        make_user(container, "boss@example.com", "admin")
        now = container.clock()
        with container.uow() as uow:
            with pytest.raises(AccountError, match="last active admin"):
                disable_user(uow, email="boss@example.com", actor="t", now=now)
            with pytest.raises(AccountError, match="last active admin"):
                set_role(uow, email="boss@example.com", role="viewer", actor="t", now=now)
            add_user(uow, email="second@example.com", role="admin", actor="t", now=now)
            disable_user(uow, email="boss@example.com", actor="t", now=now)  # now allowed
            uow.commit()


def test_a_reset_unlocks_and_is_audited(sqlite_url: str) -> None:
    clock = Clock()
    with studio_container(sqlite_url, clock) as container:
        make_user(container, "ann@example.com", "marketer")
        policy = LockoutPolicy()
        with container.uow() as uow:
            for _ in range(policy.account_failures):
                sign_in(uow, email="ann@example.com", password="nope", address="10.0.0.1",
                        now=clock(), policy=policy)
            uow.commit()
        with container.uow() as uow:
            new = reset_password(uow, email="ann@example.com", actor="boss@example.com",
                                 now=clock())
            uow.commit()
        with container.uow() as uow:
            result = sign_in(uow, email="ANN@example.com ", password=new, address="10.0.0.2",
                             now=clock(), policy=policy)
            actions = [(e.actor, e.action, e.subject) for e in
                       uow.session.scalars(select(StudioAuditEntry).order_by(StudioAuditEntry.id))]
        assert result.user is not None and result.locked_until is None
        assert ("boss@example.com", "user.reset-password", "ann@example.com") in actions


def test_users_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'users.db'}"}
    added = runner.invoke(main, ["users", "add", "Ann@Example.com", "--role", "marketer"], env=env)
    assert added.exit_code == 0, added.output
    assert re.search(r"added ann@example.com \(marketer\); one-time password: \S{16}",
                     added.output)
    again = runner.invoke(main, ["users", "add", "ann@example.com", "--role", "viewer"], env=env)
    assert again.exit_code == 1 and "already has an account" in again.output
    bad_role = runner.invoke(main, ["users", "add", "b@example.com", "--role", "boss"], env=env)
    assert bad_role.exit_code == 1 and "unknown role 'boss'" in bad_role.output
    bad_email = runner.invoke(main, ["users", "add", "bob", "--role", "viewer"], env=env)
    assert bad_email.exit_code == 1 and "not an email address" in bad_email.output
    assert runner.invoke(main, ["users", "disable", "ann@example.com"], env=env).exit_code == 0
    missing = runner.invoke(main, ["users", "disable", "zed@example.com"], env=env)
    assert missing.exit_code == 1 and "no account for zed@example.com" in missing.output
    reset = runner.invoke(main, ["users", "reset-password", "ann@example.com"], env=env)
    assert reset.exit_code == 0 and "new one-time password for ann@example.com" in reset.output
    listed = runner.invoke(main, ["users", "list"], env=env)
    assert re.search(r"ann@example.com\s+marketer\s+disabled\s+never signed in", listed.output)
    assert "Traceback" not in listed.output

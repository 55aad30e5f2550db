"""What `leadbot run` and `leadbot serve` say about the workspace when they start.

On a database without any workspace account, the first admin is created and its one-time
password printed once (as Jupyter prints its token); its owner chooses a new password at
first sign-in.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from bot.bootstrap import Container
from bot.studio.accounts import FIRST_ADMIN_EMAIL, ensure_first_admin
from bot.studio.sessions import stored_secret_key

log = logging.getLogger(__name__)


def first_admin_lines(container: Container) -> list[str]:
    """Prepare the workspace at start: the session signing key (when LEADBOT_SECRET_KEY is
    unset) and, on an empty accounts table, the first admin; the lines to print."""
    try:
        if container.settings.leadbot_secret_key is None:
            stored_secret_key(container.uow, now=container.clock())
        with container.uow() as uow:
            password = ensure_first_admin(uow, now=container.clock())
            uow.commit()
    except SQLAlchemyError as exc:  # e.g. LEADBOT_AUTO_MIGRATE=false on an old schema
        log.warning("could not check the workspace's accounts: %s", type(exc).__name__)
        return ["leadbot: the workspace's accounts are not readable; run `leadbot db upgrade`"]
    if password is None:
        return []
    return [f"leadbot: first workspace account: {FIRST_ADMIN_EMAIL}, one-time password "
            f"{password} (shown only now; you choose your own at first sign-in)"]


def workspace_line(port: int) -> str:
    return f"leadbot: workspace at http://localhost:{port}/studio/ (Ctrl+C to stop)"

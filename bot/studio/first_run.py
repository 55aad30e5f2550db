"""What `leadbot run` and `leadbot serve` say about the workspace when they start.

On a database without any workspace account, the first admin is created and its one-time
password printed once (as Jupyter prints its token); its owner chooses a new password at
first sign-in.
"""

from __future__ import annotations

from bot.bootstrap import Container
from bot.studio.accounts import FIRST_ADMIN_EMAIL, ensure_first_admin


def first_admin_lines(container: Container) -> list[str]:
    with container.uow() as uow:
        password = ensure_first_admin(uow, now=container.clock())
        uow.commit()
    if password is None:
        return []
    return [f"leadbot: first workspace account: {FIRST_ADMIN_EMAIL}, one-time password "
            f"{password} (shown only now; you choose your own at first sign-in)"]


def workspace_line(port: int) -> str:
    return f"leadbot: workspace at http://localhost:{port}/studio/ (Ctrl+C to stop)"

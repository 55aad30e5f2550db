"""Who holds an exclusive lease, and whether that holder is a dead process on this host.

A holder name is `host:pid:random`. A process that finds the lease held by a process
of its own host whose pid no longer exists (killed with SIGKILL, crashed) takes the
lease over at once instead of waiting for it to expire. Across hosts nothing can be
told about the holder, so its lease runs out as before. A pid reused by an unrelated
process reads as alive: the lease then expires as usual (never taken too early).
"""

from __future__ import annotations

import os
import socket
import uuid


def process_holder() -> str:
    """A lease holder name that says where it runs: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def holder_is_dead_here(holder: str) -> bool:
    """True when `holder` names a process of this host that no longer exists."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid, _ = parts
    if host != socket.gethostname() or not pid.isascii() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not pid_alive(int(pid))

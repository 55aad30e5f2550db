"""`GET /healthz`: 200 when the database answers and its schema is current, else 503.

Load balancers and PaaS routers use it to take a process out of rotation: a web
process that cannot reach the database cannot accept a Telegram update durably,
so it must not receive any. The check runs in a thread with a timeout, so a hung
database connection makes the probe fail instead of hanging it.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage import migrate

log = logging.getLogger(__name__)


def check_database(engine: Engine) -> dict[str, object]:
    """{"database": "ok", "migrations": "current" | "behind"}; raises when unreachable."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    current = migrate.current_revision(engine)
    head = migrate.head_revision(engine)
    return {"database": "ok", "migrations": "current" if current == head else "behind",
            "revision": current, "head": head}


def health_route(*, engine: Engine, timeout: float = 3.0) -> Route:
    async def endpoint(_request: Request) -> Response:
        try:
            report = await asyncio.wait_for(asyncio.to_thread(check_database, engine), timeout)
        except Exception as exc:  # noqa: BLE001 — unreachable, timed out, bad credentials…
            log.warning("health check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable",
                                 "error": type(exc).__name__}, status_code=503)
        healthy = report["migrations"] == "current"
        # Behind: a release is rolling out; this process's code expects a schema it lacks.
        return JSONResponse({"status": "ok" if healthy else "unavailable", **report},
                            status_code=200 if healthy else 503)

    return Route("/healthz", endpoint, methods=["GET"])

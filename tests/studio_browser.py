"""Browser-test fixtures for the workspace: a real server and Debian's Chromium via Playwright.

Use them from a test module with

    from tests.studio_browser import (  # noqa: F401  (pytest fixtures)
        browser, requires_chromium, studio_server, studio_page)

    pytestmark = requires_chromium

    def test_something(studio_page, studio_server):
        page = studio_page("marketer")              # signed in, 1280×800
        phone = studio_page("viewer", phone=True)   # 390×844
        page.goto(studio_server.url + "/studio/funnel")

`studio_server` serves `leadbot serve`'s app (the same `create_app`) on 127.0.0.1:<free port>
from a thread, on a migrated SQLite file, with one account per role (password
`tests.studio_support.PASSWORD`, emails `<role>@example.com`). `studio_server.container`
seeds data. Set LEADBOT_SCREENSHOTS=<folder> to keep screenshots taken with `screenshot()`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.bootstrap import Container
from bot.studio.roles import ROLES, Role
from tests.studio_support import PASSWORD, Clock, make_user, studio_app, studio_container

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium); browser tests skipped"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


requires_chromium = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def email_of(role: Role) -> str:
    return f"{role}@example.com"


@dataclass
class StudioServer:
    url: str
    container: Container
    clock: Clock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def studio_server(tmp_path: Path) -> Iterator[StudioServer]:
    clock = Clock()
    with studio_container(f"sqlite:///{tmp_path / 'studio.db'}", clock) as container:
        for role in ROLES:
            make_user(container, email_of(role), role)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(
            studio_app(container), host="127.0.0.1", port=port, lifespan="on",
            log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="studio-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the workspace server did not start")
            time.sleep(0.02)
        try:
            yield StudioServer(url=f"http://127.0.0.1:{port}", container=container, clock=clock)
        finally:
            server.should_exit = True
            thread.join(timeout=15)


# Module scope: Playwright's sync API keeps its own event loop running while it is open,
# and pytest-asyncio's tests in later modules fail on that loop ("Sync API inside the
# asyncio loop"); each browser module starts Chromium once and stops it at its end.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(page: Any, url: str, role: Role, password: str = PASSWORD) -> None:
    """Fill the sign-in form as a person would (keyboard), landing in the workspace."""
    page.goto(url + "/studio/")
    page.get_by_label("Email").fill(email_of(role))
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda u: "/studio/login" not in u)


@pytest.fixture
def studio_page(browser: Any, studio_server: StudioServer) -> Iterator[Callable[..., Any]]:
    """`studio_page(role, phone=False)`: a new signed-in browser tab (fresh cookies)."""
    contexts: list[Any] = []

    def open_page(role: Role = "marketer", *, phone: bool = False) -> Any:
        context = browser.new_context(viewport=PHONE if phone else LAPTOP,
                                      device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, studio_server.url, role)
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page PNG as <LEADBOT_SCREENSHOTS>/<name>.png when that variable is set."""
    folder = os.environ.get("LEADBOT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

"""A TCP proxy in front of PostgreSQL that a test can cut and restore: a real database outage.

The app connects to the proxy's port; `cut()` closes every open connection and
refuses new ones (the driver sees the server go away, as when the database host
fails), `restore()` lets connections through again. It runs its own event loop in
a thread, so synchronous code (migrations, the service in worker threads) and the
test's event loop can both use it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy.engine import make_url


class CuttableProxy:
    def __init__(self, database_url: str) -> None:
        self._target = make_url(database_url)
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._down = False
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The database URL through the proxy."""
        return self._target.set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)

    def __enter__(self) -> CuttableProxy:
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0))
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.cut()

        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        def drop() -> None:
            self._down = True
            for writer in list(self._writers):
                writer.close()
            self._writers.clear()

        self._loop.call_soon_threadsafe(drop)

    def restore(self) -> None:
        def up() -> None:
            self._down = False

        self._loop.call_soon_threadsafe(up)

    async def _handle(self, client_reader: asyncio.StreamReader,
                      client_writer: asyncio.StreamWriter) -> None:
        if self._down:
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(
                self._target.host or "127.0.0.1", self._target.port or 5432)
        except OSError:
            client_writer.close()
            return
        self._writers.update((client_writer, server_writer))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

"""A webhook receiver on 127.0.0.1 that checks every request the Standard Webhooks way.

Verification is written here from the published algorithm (standardwebhooks.com),
independently of the sender's code: HMAC-SHA256 keyed with the base64-decoded part
of the `whsec_` secret, over `{webhook-id}.{webhook-timestamp}.{body}`, compared in
constant time with each `v1,` signature; the timestamp must be within 5 minutes of
the receiver's clock. Deliveries are de-duplicated by `webhook-id`, as receivers
are told to. It can be taken down (`outage()`: 503s) or refuse connections
(`stop()`, then `start()` again on the same port).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

TOLERANCE_SECONDS = 5 * 60


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, now: float) -> str | None:
    """None when valid, else why not."""
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                 headers.get("webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "missing headers"
    try:
        sent_at = int(stamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        return "timestamp outside tolerance"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for versioned in signatures.split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(signature), expected):
            return None
    return "no matching signature"


@dataclass
class Received:
    webhook_id: str
    event: dict[str, Any]
    path: str


@dataclass
class ReceiverState:
    accepted: list[Received] = field(default_factory=list)  # first delivery of each webhook-id per path
    redeliveries: int = 0
    rejected: list[str] = field(default_factory=list)
    attempts: int = 0
    down: bool = False
    hang: tuple[str, int, float] | None = None  # (path, nth accepted event, seconds)


class FakeWebhookReceiver:
    def __init__(self, secrets: dict[str, str], *, clock: Callable[[], datetime] | None = None,
                 port: int = 0) -> None:
        """`secrets` maps a path ("/a") to its endpoint's secret."""
        self.secrets = secrets
        self.clock = clock or (lambda: datetime.now(UTC))
        self.state = ReceiverState()
        self.lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._port}{path}"

    def start(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        self._server.daemon_threads = True
        self._port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_down(self, down: bool) -> None:
        with self.lock:
            self.state.down = down

    def hang_after_accepting(self, *, path: str, nth: int, seconds: float) -> None:
        """Accept the `nth` event on `path`, then hold the answer back (a sender killed meanwhile)."""
        with self.lock:
            self.state.hang = (path, nth, seconds)

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.state.accepted if path is None or r.path == path]

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.state.attempts += 1
            if self.state.down:
                return 503
            secret = self.secrets.get(path)
            if secret is None:
                return 404
            problem = verify_standard_webhook(secret, headers, body, self.clock().timestamp())
            if problem is not None:
                self.state.rejected.append(problem)
                return 401
            webhook_id = headers.get("webhook-id", "")
            if any(r.webhook_id == webhook_id and r.path == path for r in self.state.accepted):
                self.state.redeliveries += 1
                return 200
            self.state.accepted.append(Received(webhook_id, json.loads(body), path))
            hang = self.state.hang
            accepted_here = sum(1 for r in self.state.accepted if r.path == path)
        if hang is not None and hang[0] == path and hang[1] == accepted_here:
            time.sleep(hang[2])
        return 200


def _handler_for(receiver: FakeWebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status = receiver.receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler

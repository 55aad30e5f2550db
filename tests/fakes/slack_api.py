"""A fake Slack Web API on 127.0.0.1 for end-to-end tests, with failure injection.

The real `slack_sdk` clients (AsyncWebClient, Bolt's client, AsyncWebhookClient for
`response_url`) talk real HTTP to it. It keeps channels, messages (blocks, text,
metadata, thread_ts), ephemeral messages and every call, so tests assert on what
Slack would have shown. Faults are queued per method: HTTP 5xx, 429 with
`Retry-After`, or a hang past the client's timeout (optionally *after* recording
the message, as real Slack can do when a response is lost).

In-process: `with FakeSlackApi() as slack: ...` (a thread). Standalone:
`python -m tests.fakes.slack_api --port 0` prints `PORT <n>` on stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

DEFAULT_TOKEN = "xoxb-fake-token"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"


@dataclass
class Fault:
    """`count` next calls of `method` (None: any method) fail in the given way."""

    kind: str  # "status" | "ratelimit" | "hang"
    count: int
    method: str | None = None
    status: int = 503
    retry_after: int = 1
    seconds: float = 5.0
    # For "hang": perform the call first (the message is posted), then hang.
    apply: bool = False
    # Let this many matching calls through before the fault starts.
    skip: int = 0


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeState:
    token: str = DEFAULT_TOKEN
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    outside: set[str] = field(default_factory=set)  # channel ids the bot was not invited to
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel id -> msgs
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


class FakeSlackApi:
    """The fake server. Methods are thread-safe; use them from tests to seed and inspect."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, port: int = 0) -> None:
        self.state = FakeState(token=token)
        self.lock = threading.RLock()
        self._ts = itertools.count(1)
        self.add_channel("C0SALES01", "sales")
        self.add_channel("C0FINANCE", "sales-finance")
        self.add_user("U0SAM0001", "sam", "Sam Seller")
        self.add_user("U0ALEX001", "alex", "Alex Closer")
        self.add_user("U0KIM0001", "kim", "Kim Hunter")
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as `SLACK_API_BASE_URL` / `AsyncWebClient(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- seeding and fault injection ----------------------------------------------

    def add_channel(self, channel_id: str, name: str, *, bot_is_member: bool = True) -> None:
        with self.lock:
            self.state.channels[channel_id] = name
            if not bot_is_member:
                self.state.outside.add(channel_id)
            self.state.messages.setdefault(channel_id, [])

    def add_user(self, user_id: str, name: str, real_name: str) -> None:
        with self.lock:
            self.state.users[user_id] = {
                "id": user_id,
                "name": name,
                "real_name": real_name,
                "profile": {"display_name": name, "real_name": real_name},
            }

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.state.faults.append(fault)

    def fail_next(self, count: int, *, status: int = 503, method: str | None = None) -> None:
        self.inject(Fault("status", count, method=method, status=status))

    def rate_limit_next(self, count: int, *, retry_after: int = 1, method: str | None = None) -> None:
        self.inject(Fault("ratelimit", count, method=method, retry_after=retry_after))

    def hang_next(
        self, count: int, *, seconds: float = 5.0, method: str | None = None, apply: bool = False
    ) -> None:
        self.inject(Fault("hang", count, method=method, seconds=seconds, apply=apply))

    def clear_faults(self) -> None:
        with self.lock:
            self.state.faults.clear()

    # --- inspection ---------------------------------------------------------------

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level and thread messages of a channel (id or name), oldest first."""
        with self.lock:
            channel_id = self._channel_id(channel)
            return [dict(m) for m in self.state.messages.get(channel_id or "", [])]

    def all_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(m) for msgs in self.state.messages.values() for m in msgs]

    def thread_messages(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return [
            m for m in self.channel_messages(channel)
            if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts
        ]

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if c.method == method]

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.ephemerals)

    @property
    def responses(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.responses)

    def add_user_message(
        self, channel: str, *, user: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person wrote (so it shows in history); returns it."""
        with self.lock:
            channel_id = self._channel_id(channel) or channel
            message = {"type": "message", "user": user, "text": text, "ts": self._next_ts()}
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.state.messages.setdefault(channel_id, []).append(message)
            return dict(message)

    # --- internals ----------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.state.channels:
            return channel
        name = channel.lstrip("#")
        for channel_id, channel_name in self.state.channels.items():
            if channel_name == name:
                return channel_id
        return None

    def _take_fault(self, method: str) -> Fault | None:
        with self.lock:
            for fault in self.state.faults:
                if fault.method in (None, method) and fault.count > 0:
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    if fault.count == 0:
                        self.state.faults.remove(fault)
                    return fault
        return None

    def dispatch(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Run one API method; returns (status, body, extra headers)."""
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(
            self, "_api_" + method.replace(".", "_"), None
        )
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self.lock:
            return 200, handler(args), {}

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "leadbot",
            "team_id": "T0FAKE001", "user_id": BOT_USER_ID, "bot_id": BOT_ID,
        }

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        if channel_id is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel_id in self.state.outside:
            return {"ok": False, "error": "not_in_channel"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = _json_arg(args.get("blocks"))
        if blocks is not None and len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        message: dict[str, Any] = {
            "type": "message", "bot_id": BOT_ID, "user": BOT_USER_ID, "ts": self._next_ts(),
            "text": args.get("text", ""), "blocks": blocks or [],
        }
        metadata = _json_arg(args.get("metadata"))
        if metadata:
            message["metadata"] = metadata
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self.state.messages[channel_id].append(message)
        return {"ok": True, "channel": channel_id, "ts": message["ts"], "message": message}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        for message in self.state.messages.get(channel_id or "", []):
            if message["ts"] == args.get("ts"):
                if "text" in args:
                    message["text"] = args["text"]
                if "blocks" in args:
                    message["blocks"] = _json_arg(args["blocks"]) or []
                message["edited"] = True
                return {"ok": True, "channel": channel_id, "ts": message["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _api_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        messages = self.state.messages.get(channel_id or "", [])
        for message in messages:
            if message["ts"] == args.get("ts"):
                if message.get("bot_id") != BOT_ID:
                    return {"ok": False, "error": "cant_delete_message"}
                messages.remove(message)
                return {"ok": True, "channel": channel_id, "ts": message["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        ts = str(args.get("message_ts", ""))
        if not any(m["ts"] == ts for m in self.state.messages.get(channel_id or "", [])):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel_id,
                "permalink": f"https://fake.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._channel_id(str(args.get("channel", ""))) is None:
            return {"ok": False, "error": "channel_not_found"}
        self.state.ephemerals.append(dict(args))
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.state.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _api_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {"id": cid, "name": name, "is_channel": True} for cid, name in self.state.channels.items()
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        if channel_id is None:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest", 0) or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = [
            _visible(m, with_metadata)
            for m in reversed(self.state.messages[channel_id])
            if float(m["ts"]) >= oldest and m.get("thread_ts") in (None, m["ts"])
        ]
        limit = int(args.get("limit", 100) or 100)
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    def _api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._channel_id(str(args.get("channel", "")))
        if channel_id is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts"))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = [
            _visible(m, with_metadata)
            for m in self.state.messages[channel_id]
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not messages:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": messages, "has_more": False}


def _visible(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = dict(message)
    if not with_metadata:
        shown.pop("metadata", None)
    return shown


def _json_arg(value: Any) -> Any:
    """Form-encoded calls carry blocks/metadata as JSON strings; JSON calls as objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _handler_for(fake: FakeSlackApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _read_args(self) -> dict[str, Any]:
            url = urlsplit(self.path)
            args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            if raw and "json" in ctype:
                args.update(json.loads(raw))
            elif raw:
                args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            return args

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            # aiohttp's `res.json()` insists on a JSON content type.
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def _handle(self) -> None:
            path = urlsplit(self.path).path
            args = self._read_args()
            if path.startswith("/response/"):
                with fake.lock:
                    fake.state.responses.append({"name": path.rsplit("/", 1)[1], **args})
                self._send(200, {"ok": True}, {})
                return
            if not path.startswith("/api/"):
                self._send(404, {"ok": False, "error": "not_found"}, {})
                return
            method = path[len("/api/"):]
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() or str(args.get("token", ""))
            if token != fake.state.token:
                self._record(method, args, 200)
                self._send(200, {"ok": False, "error": "invalid_auth"}, {})
                return
            fault = fake._take_fault(method)
            if fault is not None and fault.kind == "status":
                self._record(method, args, fault.status)
                self._send(fault.status, {"ok": False, "error": "fatal_error"}, {})
                return
            if fault is not None and fault.kind == "ratelimit":
                self._record(method, args, 429)
                self._send(
                    429, {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(fault.retry_after)},
                )
                return
            if fault is not None and fault.kind == "hang":
                if fault.apply:
                    fake.dispatch(method, args)
                self._record(method, args, 0)
                time.sleep(fault.seconds)
                self._send(503, {"ok": False, "error": "timeout"}, {})
                return
            status, body, headers = fake.dispatch(method, args)
            self._record(method, args, status)
            self._send(status, body, headers)

        def _record(self, method: str, args: dict[str, Any], status: int) -> None:
            with fake.lock:
                fake.state.calls.append(Call(method, args, status))

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Slack Web API.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    options = parser.parse_args()
    fake = FakeSlackApi(token=options.token, port=options.port)
    print(f"PORT {fake.port}", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

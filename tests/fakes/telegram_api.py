"""A fake Telegram Bot API server on 127.0.0.1, and helpers to play prospects against it.

It speaks the real wire protocol (the Bot API documentation, "Making requests"): POST `/bot<token>/<method>`,
form-encoded fields whose complex values are JSON strings, `{"ok": …}` envelopes,
HTTP 429 with `parameters.retry_after`. Real python-telegram-bot talks to it.

* In-process: ``with FakeTelegram() as tg: ...`` serves on an ephemeral port from a
  thread (its own event loop, so the bot under test keeps the test's loop).
* Standalone: ``python -m tests.fakes.telegram_api --port N [--state-file F]`` so a test
  can kill -9 the bot, or the fake itself, and keep the same chats. Helpers are then
  reachable over HTTP: ``POST /_fake/<helper>`` with JSON keyword arguments.

State is guarded by one lock: helpers run on the test's thread, handlers on the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_TOKEN = "123:ABC"
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "blockquote", "tg-emoji"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>")


class ApiError(Exception):
    """An error envelope the fake answers with."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def html_to_plain(text: str) -> str:
    """Parse Telegram HTML like the Bot API does; raise 400 on what it would reject."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise ApiError(400, f"Bad Request: can't parse entities: unescaped & at {i}")
            out.append(html.unescape(m.group(0)))
            i = m.end()
        elif ch == "<":
            m = _TAG.match(text, i)
            if not m or m.group(2) not in _ALLOWED_TAGS:
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag at {i}")
            if m.group(1):
                if not stack or stack.pop() != m.group(2):
                    raise ApiError(400, "Bad Request: can't parse entities: unmatched end tag")
            else:
                stack.append(m.group(2))
            i = m.end()
        elif ch == ">":
            raise ApiError(400, f"Bad Request: can't parse entities: unescaped > at {i}")
        else:
            out.append(ch)
            i += 1
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed tag")
    return "".join(out)


@dataclass
class ChatMessage:
    """One message of a chat as it stands now (after edits)."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str | None
    date: int
    inline_keyboard: list[list[dict[str, Any]]] | None = None
    reply_keyboard: dict[str, Any] | None = None  # a ReplyKeyboardMarkup / Remove as sent
    parse_mode: str | None = None
    raw_text: str | None = None  # as sent, before entity parsing
    edits: int = 0
    kind: str = "text"

    def buttons(self) -> list[dict[str, Any]]:
        return [b for row in (self.inline_keyboard or []) for b in row]

    def labels(self) -> list[str]:
        return [b["text"] for b in self.buttons()]


@dataclass
class Failure:
    kind: str  # "429" | "5xx" | "hang" | "garbled" (200 whose result is not the method's)
    retry_after: int = 1
    status: int = 502
    hang_seconds: float = 30.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    outcome: str  # "ok" | "429" | "5xx" | "hang" | "error"


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    redeliveries: list[dict[str, Any]] = field(default_factory=list)
    handed_out: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1000
    next_message_id: dict[int, int] = field(default_factory=dict)
    chats: dict[int, list[ChatMessage]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    webhook_url: str = ""
    dropped_pending: int = 0
    next_callback_id: int = 1
    answered_callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    all_updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # for redeliver()


def _decode(value: str) -> Any:
    """PTB JSON-encodes every non-string value; plain strings arrive as-is."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeTelegram:
    """The fake server, its recorded traffic, and prospect-playing helpers."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, bot_username: str = "leadbot_test_bot",
                 port: int = 0, state_file: Path | None = None) -> None:
        self.token = token
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Leadbot",
                         "username": bot_username, "can_join_groups": True,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self._port = port
        self._state_file = state_file
        self._lock = threading.RLock()
        self._s = _State()
        self.calls: list[Call] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._closing = False
        self.polls_waiting = 0  # getUpdates calls currently long-polling
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        if state_file is not None and state_file.exists():
            self._load(state_file)
        self.app = Starlette(routes=[
            Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
            Route("/_fake/{helper}", self._control, methods=["POST"]),
        ])

    # --- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """The value for PTB's `base_url` / TELEGRAM_API_BASE_URL (the token is appended)."""
        return f"http://127.0.0.1:{self._port}/bot"

    def start(self) -> Self:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self._port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-telegram", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Telegram server did not start")
            time.sleep(0.01)
        self._port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- failure injection ------------------------------------------------------------

    def fail_next(self, method: str, times: int = 1, *, kind: str = "429", retry_after: int = 1,
                  status: int = 502, hang_seconds: float = 30.0) -> None:
        """The next `times` calls of `method` answer 429 / 5xx, a 200 whose result is not the
        method's ("garbled"), or hang past the client timeout."""
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            for _ in range(times):
                queue.append(Failure(kind, retry_after, status, hang_seconds))

    # --- HTTP -------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        params: dict[str, Any] = {k: _decode(v) for k, v in request.query_params.items()}
        body = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params.update(json.loads(body))
        elif body:  # form-encoded (PTB never uploads files here, so no multipart)
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: _decode(v) for k, v in pairs})
        failure = self._take_failure(method)
        if failure is not None:
            self._record(method, params, failure.kind)
            if failure.kind == "hang":
                await self._sleep_unless_closing(failure.hang_seconds)
                return _error(ApiError(504, "Gateway Timeout"))
            if failure.kind == "garbled":
                return JSONResponse({"ok": True, "result": {"unexpected": "shape"}})
            if failure.kind == "429":
                return _error(ApiError(429, f"Too Many Requests: retry after {failure.retry_after}",
                                       {"retry_after": failure.retry_after}))
            return _error(ApiError(failure.status, "Bad Gateway"))
        handler = getattr(self, "_api_" + method.lower(), None)
        if handler is None:
            self._record(method, params, "error")
            return _error(ApiError(404, "Not Found: method not found"))
        try:
            result = await handler(params) if method.lower() == "getupdates" else handler(params)
        except ApiError as exc:
            self._record(method, params, "error")
            return _error(exc)
        self._record(method, params, "ok")
        self._save()
        return JSONResponse({"ok": True, "result": result})

    async def _control(self, request: Request) -> JSONResponse:
        helper = request.path_params["helper"]
        if helper.startswith("_") or not callable(getattr(self, helper, None)):
            return JSONResponse({"error": "no such helper"}, status_code=404)
        kwargs = await request.json() if await request.body() else {}
        result = getattr(self, helper)(**kwargs)
        if isinstance(result, list) and result and isinstance(result[0], ChatMessage):
            result = [vars(m) for m in result]
        return JSONResponse({"result": result})

    def _take_failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self._failures.get(method.lower())
            return queue.popleft() if queue else None

    def _record(self, method: str, params: dict[str, Any], outcome: str) -> None:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), outcome))

    async def _sleep_unless_closing(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._closing:
            await asyncio.sleep(0.01)

    # --- Bot API methods --------------------------------------------------------------

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self._s.webhook_url:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        self.polls_waiting += 1
        try:
            while True:
                with self._lock:
                    self._confirm(offset)
                    batch = (self._s.redeliveries + self._s.updates)[:limit]
                    if batch:
                        # A redelivery is handed out once, and counts as pending until
                        # the bot's next call (its confirmation).
                        self._s.handed_out, self._s.redeliveries = self._s.redeliveries, []
                        return batch
                if time.monotonic() >= deadline or self._closing:
                    return []
                await asyncio.sleep(0.005)
        finally:
            self.polls_waiting -= 1

    def _confirm(self, offset: Any) -> None:
        self._s.handed_out = []
        if offset is None:
            return
        offset = int(offset)
        if offset < 0:
            self._s.updates = self._s.updates[offset:]
        else:
            self._s.updates = [u for u in self._s.updates if u["update_id"] >= offset]

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        text, raw, mode = self._parse_text(params)
        inline, reply = _split_markup(params.get("reply_markup"))
        with self._lock:
            message = ChatMessage(self._new_message_id(chat_id), chat_id, True, text, int(time.time()),
                                  inline, reply, mode, raw)
            self._s.chats.setdefault(chat_id, []).append(message)
            return self._message_json(message)

    def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        text, raw, mode = self._parse_text(params)
        inline, _ = _split_markup(params.get("reply_markup"))
        with self._lock:
            message = self._find(params)
            if message.text == text and message.inline_keyboard == inline:
                raise ApiError(400, "Bad Request: message is not modified")
            message.text, message.raw_text, message.parse_mode = text, raw, mode
            message.inline_keyboard = inline
            message.edits += 1
            return self._message_json(message)

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        inline, _ = _split_markup(params.get("reply_markup"))
        with self._lock:
            message = self._find(params)
            if message.inline_keyboard == inline:
                raise ApiError(400, "Bad Request: message is not modified")
            message.inline_keyboard = inline
            message.edits += 1
            return self._message_json(message)

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params["callback_query_id"])
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            if query_id in self._s.answered_callbacks:
                raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
            self._s.answered_callbacks[query_id] = params
        return True

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        key = f"{json.dumps(params.get('scope') or {'type': 'default'})}|{params.get('language_code') or ''}"
        with self._lock:
            self._s.commands[key] = list(params["commands"])
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        key = f"{json.dumps(params.get('scope') or {'type': 'default'})}|{params.get('language_code') or ''}"
        with self._lock:
            return list(self._s.commands.get(key, []))

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._s.webhook_url = ""
            if params.get("drop_pending_updates"):
                self._s.dropped_pending += len(self._s.updates)
                self._s.updates = []
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        with self._lock:
            self._s.webhook_url = str(params["url"])
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"url": self._s.webhook_url, "has_custom_certificate": False,
                    "pending_update_count": len(self._s.updates)}

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    def _parse_text(self, params: dict[str, Any]) -> tuple[str, str, str | None]:
        raw = str(params.get("text") or "")
        mode = params.get("parse_mode")
        text = html_to_plain(raw) if mode == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text, raw, mode

    def _find(self, params: dict[str, Any]) -> ChatMessage:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        for message in self._s.chats.get(chat_id, []):
            if message.message_id == message_id:
                if not message.from_bot:
                    raise ApiError(400, "Bad Request: message can't be edited")
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    def _new_message_id(self, chat_id: int) -> int:
        self._s.next_message_id[chat_id] = self._s.next_message_id.get(chat_id, 0) + 1
        return self._s.next_message_id[chat_id]

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": message.message_id, "date": message.date,
                                "chat": _chat(message.chat_id), "from": self.bot_user}
        if message.text is not None:
            data["text"] = message.text
        if message.inline_keyboard:
            data["reply_markup"] = {"inline_keyboard": message.inline_keyboard}
        return data

    # --- playing a prospect -------------------------------------------------------------

    def send_text(self, chat_id: int, text: str, *, first_name: str = "Ada", last_name: str = "",
                  username: str = "", language_code: str = "en", chat_type: str = "private",
                  user_id: int | None = None) -> int:
        """A prospect types `text`; returns the update_id. `/cmd` gets a bot_command entity."""
        message = self._incoming(chat_id, first_name, last_name, username, language_code,
                                 chat_type, user_id)
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_@]+", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._enqueue({"message": message})

    def send_forwarded(self, chat_id: int, text: str, **user: Any) -> int:
        message = self._incoming(chat_id, **_user_kwargs(user))
        message["text"] = text
        message["forward_origin"] = {"type": "hidden_user", "sender_user_name": "Someone",
                                     "date": int(time.time()) - 60}
        return self._enqueue({"message": message})

    def send_sticker(self, chat_id: int, **user: Any) -> int:
        return self._send_media(chat_id, "sticker", {
            "file_id": "stk1", "file_unique_id": "u1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}, user)

    def send_photo(self, chat_id: int, **user: Any) -> int:
        return self._send_media(chat_id, "photo", [
            {"file_id": "ph1", "file_unique_id": "u2", "width": 90, "height": 90}], user)

    def send_voice(self, chat_id: int, **user: Any) -> int:
        return self._send_media(chat_id, "voice", {"file_id": "vo1", "file_unique_id": "u3",
                                                   "duration": 3}, user)

    def send_document(self, chat_id: int, **user: Any) -> int:
        return self._send_media(chat_id, "document", {"file_id": "do1", "file_unique_id": "u4",
                                                      "file_name": "deck.pdf"}, user)

    def send_location(self, chat_id: int, **user: Any) -> int:
        return self._send_media(chat_id, "location", {"latitude": 48.85, "longitude": 2.35}, user)

    def send_contact(self, chat_id: int, phone_number: str, *, contact_user_id: int | None = None,
                     **user: Any) -> int:
        """Share a contact; by default the sender's own (contact.user_id == from.id)."""
        message = self._incoming(chat_id, **_user_kwargs(user))
        owner = message["from"]["id"] if contact_user_id is None else contact_user_id
        message["contact"] = {"phone_number": phone_number, "first_name": message["from"]["first_name"],
                              "user_id": owner}
        return self._enqueue({"message": message})

    def edit_message(self, chat_id: int, message_id: int, text: str, **user: Any) -> int:
        """The prospect edits one of their own messages."""
        message = self._incoming(chat_id, **_user_kwargs(user), new_id=False)
        message.update(message_id=message_id, text=text, edit_date=int(time.time()))
        return self._enqueue({"edited_message": message})

    def press_button(self, chat_id: int, message_id: int, callback_data: str, *,
                     first_name: str = "Ada", language_code: str = "en") -> int:
        """Tap an inline button (any data — stale or forged ones included)."""
        with self._lock:
            found = [m for m in self._s.chats.get(chat_id, []) if m.message_id == message_id]
            message = self._message_json(found[0]) if found else None
            query_id = str(self._s.next_callback_id)
            self._s.next_callback_id += 1
        query: dict[str, Any] = {"id": query_id, "chat_instance": f"ci{chat_id}", "data": callback_data,
                                 "from": _user(chat_id, first_name, "", "", language_code)}
        if message is not None:
            query["message"] = message
        return self._enqueue({"callback_query": query})

    def tap(self, chat_id: int, label: str, **user: Any) -> int:
        """Tap the button labelled `label` on the latest bot message that has it."""
        for message in reversed(self.messages(chat_id)):
            for button in message.buttons():
                if button["text"] == label:
                    return self.press_button(chat_id, message.message_id, button["callback_data"],
                                             **user)
        raise AssertionError(f"no button {label!r} in chat {chat_id}: {self.transcript(chat_id)}")

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue any raw update payload (e.g. `{"channel_post": …}`); returns its update_id."""
        return self._enqueue(payload)

    def redeliver(self, update_id: int) -> None:
        """Hand an already-confirmed update out once more, as a flaky network would."""
        with self._lock:
            self._s.redeliveries.append(self._s.all_updates[update_id])

    def _send_media(self, chat_id: int, kind: str, payload: Any, user: dict[str, Any]) -> int:
        message = self._incoming(chat_id, **_user_kwargs(user))
        message[kind] = payload
        return self._enqueue({"message": message})

    def _incoming(self, chat_id: int, first_name: str = "Ada", last_name: str = "",
                  username: str = "", language_code: str = "en", chat_type: str = "private",
                  user_id: int | None = None, *, new_id: bool = True) -> dict[str, Any]:
        sender = _user(user_id if user_id is not None else chat_id, first_name, last_name, username,
                       language_code)
        message_id = 0
        if new_id:  # the prospect's messages share the chat's message_id sequence
            with self._lock:
                message_id = self._new_message_id(chat_id)
                self._s.chats.setdefault(chat_id, []).append(
                    ChatMessage(message_id, chat_id, False, None, int(time.time())))
        return {"message_id": message_id, "date": int(time.time()), "from": sender,
                "chat": _chat(chat_id, chat_type, first_name)}

    def _enqueue(self, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._s.next_update_id
            self._s.next_update_id += 1
            update = {"update_id": update_id, **payload}
            self._s.updates.append(update)
            self._s.all_updates[update_id] = update
            message = payload.get("message")
            if message is not None:  # keep the prospect's side of the transcript
                for m in self._s.chats.get(message["chat"]["id"], []):
                    if m.message_id == message["message_id"] and not m.from_bot:
                        m.text = message.get("text")
                        m.kind = next((k for k in ("text", "sticker", "photo", "voice", "document",
                                                   "location", "contact") if k in message), "other")
        self._save()
        return update_id

    # --- reading what the bot did ---------------------------------------------------------

    def messages(self, chat_id: int) -> list[ChatMessage]:
        """What the bot sent to the chat, in order, as the messages stand now (after edits)."""
        with self._lock:
            return [m for m in self._s.chats.get(chat_id, []) if m.from_bot]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.messages(chat_id)]

    def transcript(self, chat_id: int) -> list[str]:
        """Both sides, for assertion messages: '> prospect' / '< bot [buttons]'."""
        with self._lock:
            lines = []
            for m in self._s.chats.get(chat_id, []):
                if m.from_bot:
                    lines.append(f"< {m.text}" + (f" {m.labels()}" if m.inline_keyboard else ""))
                else:
                    lines.append(f"> {m.text if m.kind == 'text' else '[' + m.kind + ']'}")
            return lines

    def calls_of(self, method: str, outcome: str | None = "ok") -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()
                    and (outcome is None or c.outcome == outcome)]

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (offset semantics)."""
        with self._lock:
            return len(self._s.updates) + len(self._s.redeliveries) + len(self._s.handed_out)

    def commands(self, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return self._s.commands.get(f"{json.dumps({'type': 'default'})}|{language_code}", [])

    def callback_answered(self, update_id: int) -> bool:
        with self._lock:
            query = self._s.all_updates[update_id]["callback_query"]
            return query["id"] in self._s.answered_callbacks

    @property
    def dropped_pending(self) -> int:
        return self._s.dropped_pending

    async def wait_for(self, condition: Any, *, timeout: float = 10.0, what: str = "") -> None:
        """Poll `condition()` until true; fail with the transcript context after `timeout`."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            await asyncio.sleep(0.01)

    def wait_for_sync(self, condition: Any, *, timeout: float = 20.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}")
            time.sleep(0.02)

    async def wait_for_messages(self, chat_id: int, count: int, *, timeout: float = 10.0) -> list[ChatMessage]:
        """Wait until the bot has sent at least `count` messages to the chat."""
        await self.wait_for(lambda: len(self.messages(chat_id)) >= count, timeout=timeout,
                            what=f"{count} messages in chat {chat_id}: {self.transcript(chat_id)}")
        return self.messages(chat_id)

    # --- standalone persistence ---------------------------------------------------------

    def _save(self) -> None:
        if self._state_file is None:
            return
        with self._lock:
            data = {"updates": self._s.updates, "next_update_id": self._s.next_update_id,
                    "next_message_id": self._s.next_message_id,
                    "chats": {k: [vars(m) for m in v] for k, v in self._s.chats.items()},
                    "all_updates": self._s.all_updates}
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self._state_file)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self._s.updates = data["updates"]
        self._s.next_update_id = data["next_update_id"]
        self._s.next_message_id = {int(k): v for k, v in data["next_message_id"].items()}
        self._s.chats = {int(k): [ChatMessage(**m) for m in v] for k, v in data["chats"].items()}
        self._s.all_updates.update({int(k): v for k, v in data["all_updates"].items()})


def _split_markup(markup: Any) -> tuple[list[list[dict[str, Any]]] | None, dict[str, Any] | None]:
    if not markup:
        return None, None
    if isinstance(markup, str):
        markup = json.loads(markup)
    if "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup["inline_keyboard"] or None, None
    return None, markup


def _user(user_id: int, first_name: str, last_name: str, username: str, language_code: str) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def _user_kwargs(user: dict[str, Any]) -> dict[str, Any]:
    allowed = {"first_name", "last_name", "username", "language_code", "chat_type", "user_id"}
    unknown = set(user) - allowed
    if unknown:
        raise TypeError(f"unknown prospect fields {unknown}")
    return user


def _chat(chat_id: int, chat_type: str | None = None, first_name: str = "Ada") -> dict[str, Any]:
    chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": chat_type, "title": "Some group"}


def _error(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return JSONResponse(body, status_code=exc.code)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server (tests only).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--state-file", type=Path)
    args = parser.parse_args()
    fake = FakeTelegram(token=args.token, port=args.port, state_file=args.state_file)
    fake.start()
    print(f"fake telegram listening on {fake.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()

"""A fake HubSpot CRM v3 objects API on 127.0.0.1 (contacts, notes, GDPR delete), with faults.

The official `hubspot-api-client` talks real HTTP to it. It answers the way
HubSpot's CRM v3 objects API does: `PATCH /crm/v3/objects/contacts/{email}?idProperty=email`
404s for an unknown email, `POST /crm/v3/objects/contacts` answers 409 "Contact already
exists. Existing ID: N" for a duplicate email, notes are created with associations,
`POST /crm/v3/objects/contacts/gdpr-delete` removes the contact and its notes (204),
a wrong token gets 401. Faults: 429 with `Retry-After` (HubSpot's secondly limit),
5xx, and "someone else creates this contact first" (the 409 race).

In-process: `with FakeHubSpotApi() as hubspot: ...`. Standalone:
`python -m tests.fakes.hubspot_api --port 0` prints `PORT <n>`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "pat-na1-fake-token"
CONTACTS = "/crm/v3/objects/contacts"
NOTES = "/crm/v3/objects/notes"


@dataclass
class Fault:
    kind: str  # "status" | "ratelimit" | "conflict" (create the contact first, then answer 409)
    count: int
    status: int = 502
    retry_after: int = 1
    path: str | None = None  # only requests whose path starts with this


@dataclass
class Call:
    method: str
    path: str
    status: int


@dataclass
class FakeState:
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> object
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    erased: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _error(message: str, category: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "00000000-fake",
            "category": category}


class FakeHubSpotApi:
    def __init__(self, *, token: str = TOKEN, port: int = 0) -> None:
        self.token = token
        self.state = FakeState()
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test helpers ------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.state.faults.append(fault)

    def contacts_by_email(self, email: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.state.contacts.values() if c["properties"].get("email") == email]

    def notes_of(self, contact_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [n for n in self.state.notes.values() if contact_id in n["contacts"]]

    def calls(self, method: str | None = None, path: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls
                    if (method is None or c.method == method) and (path is None or c.path.startswith(path))]

    # --- the API -------------------------------------------------------------------

    def _take_fault(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        for fault in self.state.faults:
            if fault.kind in kinds and fault.count > 0 and (fault.path is None or path.startswith(fault.path)):
                fault.count -= 1
                return fault
        return None

    def _new_contact(self, properties: dict[str, Any]) -> dict[str, Any]:
        contact_id = str(next(self._ids))
        now = _now()
        contact = {"id": contact_id, "properties": {**properties, "hs_object_id": contact_id},
                   "createdAt": now, "updatedAt": now, "archived": False}
        self.state.contacts[contact_id] = contact
        return contact

    def _find(self, ref: str, by_email: bool) -> dict[str, Any] | None:
        if by_email:
            return next((c for c in self.state.contacts.values()
                         if c["properties"].get("email", "").lower() == ref.lower()), None)
        return self.state.contacts.get(ref)

    def handle(self, method: str, path: str, query: dict[str, str],
               body: dict[str, Any]) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        fault = self._take_fault(path, ("ratelimit", "status"))
        if fault is not None and fault.kind == "ratelimit":
            return 429, {"status": "error", "message": "You have reached your secondly limit.",
                         "errorType": "RATE_LIMIT", "policyName": "SECONDLY",
                         "correlationId": "00000000-fake"}, {"Retry-After": str(fault.retry_after)}
        if fault is not None and fault.kind == "status":
            return fault.status, _error("Bad gateway", "INTERNAL_ERROR"), {}
        if method == "POST" and path == CONTACTS:
            properties = dict(body.get("properties") or {})
            email = str(properties.get("email", ""))
            if self._take_fault(path, ("conflict",)) is not None:
                self._new_contact({"email": email})  # a form submission got there first
            existing = self._find(email, by_email=True) if email else None
            if existing is not None:
                return 409, _error(f"Contact already exists. Existing ID: {existing['id']}", "CONFLICT"), {}
            return 201, self._new_contact(properties), {}
        if method == "POST" and path == f"{CONTACTS}/gdpr-delete":
            ref = str(body.get("objectId", ""))
            contact = self._find(ref, by_email=body.get("idProperty") == "email")
            if contact is None:
                return 404, _error("resource not found", "OBJECT_NOT_FOUND"), {}
            del self.state.contacts[contact["id"]]
            for note_id in [n for n, note in self.state.notes.items() if contact["id"] in note["contacts"]]:
                del self.state.notes[note_id]
            self.state.erased.append(contact["id"])
            return 204, None, {}
        if method == "PATCH" and path.startswith(CONTACTS + "/"):
            ref = unquote(path[len(CONTACTS) + 1:])
            contact = self._find(ref, by_email=query.get("idProperty") == "email")
            if contact is None:
                return 404, _error("resource not found", "OBJECT_NOT_FOUND"), {}
            contact["properties"].update(body.get("properties") or {})
            contact["updatedAt"] = _now()
            return 200, contact, {}
        if method == "POST" and path == NOTES:
            targets = [str(a["to"]["id"]) for a in body.get("associations") or []]
            if any(t not in self.state.contacts for t in targets):
                return 400, _error("association target not found", "VALIDATION_ERROR"), {}
            note_id = str(next(self._ids))
            now = _now()
            note = {"id": note_id, "properties": dict(body.get("properties") or {}), "contacts": targets,
                    "createdAt": now, "updatedAt": now, "archived": False}
            self.state.notes[note_id] = note
            return 201, {k: v for k, v in note.items() if k != "contacts"}, {}
        return 404, _error(f"no route {method} {path}", "NOT_FOUND"), {}


def _handler_for(fake: FakeHubSpotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            with fake.lock:
                if self.headers.get("Authorization", "") != f"Bearer {fake.token}":
                    status, payload, headers = 401, _error("Authentication credentials not found.",
                                                           "INVALID_AUTHENTICATION"), {}
                else:
                    status, payload, headers = fake.handle(method, url.path, query, body)
                fake.state.calls.append(Call(method, url.path, status))
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake HubSpot CRM API.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    fake = FakeHubSpotApi(port=args.port)
    print(f"PORT {fake._server.server_address[1]}", flush=True)
    fake._server.serve_forever()


if __name__ == "__main__":
    main()

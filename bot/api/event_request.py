"""The body of `POST /api/events`, validated: which lead, which engagement action, which retry key.

```json
{"lead": {"id": 12} | {"username": "ada"} | {"email": "ada@example.com"},
 "event": "webinar_registration",
 "id": "optional-idempotency-key"}
```

Strict types (a lead id is a JSON integer, not "12"), no unknown keys, and every
error worded as `path: problem` so whoever wires a webhook sees what to change.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from bot.web.json_input import BadJson, load_json

MAX_KEY_CHARS = 100  # the idempotency key; stored as part of a 128-character message id
MAX_LEAD_ID = 2**63 - 1  # lead ids are 64-bit integers in the database


def _printable(text: str) -> str:
    # NUL is refused by PostgreSQL, lone surrogates by both drivers, and control
    # characters (newlines included) have no place in a name, an address or a key.
    if any(ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise ValueError("must not contain control characters (NUL, newline…) or lone surrogates")
    return text


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                 AfterValidator(_printable)]


class InvalidEventRequest(ValueError):
    """The body is not a valid event request; the message says what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LeadRef(_Strict):
    """Exactly one way to name the lead."""

    id: int | None = Field(default=None, ge=1, le=MAX_LEAD_ID)
    username: Annotated[Text, StringConstraints(max_length=65)] | None = None
    email: Annotated[Text, StringConstraints(max_length=320)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LeadRef:
        given = [name for name in ("id", "username", "email") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                'give exactly one of id, username or email, e.g. {"id": 12} or {"email": "a@b.c"}'
            )
        return self

    def describe(self) -> str:
        """"id 12", "username 'ada'", "email 'a@b.c'": for messages."""
        if self.id is not None:
            return f"id {self.id}"
        return f"username {self.username!r}" if self.username else f"email {self.email!r}"

    @property
    def telegram_username(self) -> str | None:
        """The username without the '@' people often copy along with it."""
        return self.username.removeprefix("@") if self.username else None


class EventRequest(_Strict):
    lead: LeadRef
    event: Annotated[Text, StringConstraints(max_length=64)]
    id: Annotated[Text, StringConstraints(max_length=MAX_KEY_CHARS)] | None = None


def parse_event_request(body: bytes) -> EventRequest:
    """The validated request, or InvalidEventRequest with a one-line reason."""
    try:
        data = load_json(body)
    except BadJson as exc:
        raise InvalidEventRequest(f"{exc}; send JSON") from None
    if not isinstance(data, dict):
        raise InvalidEventRequest(
            'the body must be a JSON object like {"lead": {"id": 12}, "event": "email_open"}'
        )
    try:
        return EventRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidEventRequest("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: ErrorDetails) -> str:
    path = ".".join(str(part) for part in error["loc"]) or "body"
    if error["type"] == "model_type":  # pydantic would name our class
        return f"{path}: must be a JSON object"
    if error["type"] == "extra_forbidden":
        allowed = "id, username, email" if path.startswith("lead.") else "lead, event, id"
        return f"{path}: unknown field; the fields are {allowed}"
    # pydantic prefixes our own validator messages; the reader does not need it.
    return f"{path}: {error['msg'].removeprefix('Value error, ')}"

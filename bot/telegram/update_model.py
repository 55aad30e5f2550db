"""The shape of the Telegram update fields Leadbot reads, checked at the door.

An update arrives as JSON (a webhook body, or one item of a getUpdates answer) and
is read into these shapes once: the webhook and the poller hand the
:class:`UpdateShape` straight to `bot.telegram.inbound`, without building
python-telegram-bot objects nobody reads (building them cost twenty times the
check). :func:`read_update` validates the fields the bot uses: ids are JSON
integers within Telegram's range (at most 52 significant bits, per the Bot API),
texts are strings, every message has a chat, every callback query has a sender.
Fields the bot does not read, and update types it ignores, pass untouched:
Telegram adds fields over time, and what they hold is kept as given (a message's
media or forward origin is only asked whether it is there).

What a genuine Telegram update can never fail here, so a refusal (400 on the
webhook) only meets forgeries and broken proxies; Telegram's own retries of a
4xx are bounded, and the refusal shows in `getWebhookInfo.last_error_message`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from bot.web.json_input import MAX_DEPTH, load_json, storable_strings

log = logging.getLogger(__name__)

# "Identifiers have at most 52 significant bits" (Bot API): safe in a double and in
# every column we store them in (as text: at most 17 characters).
TELEGRAM_ID_LIMIT = 2**52
# A message text is at most 4096 characters; a caption 1024. Leave room for entities.
MAX_TEXT_CHARS = 8192

TelegramId = Annotated[StrictInt, Field(gt=-TELEGRAM_ID_LIMIT, lt=TELEGRAM_ID_LIMIT)]
UpdateId = Annotated[StrictInt, Field(ge=0, lt=TELEGRAM_ID_LIMIT)]
Text = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS)]
ShortText = Annotated[StrictStr, Field(max_length=256)]


class InvalidUpdate(ValueError):
    """The body is not a Telegram update the bot can read; the message names the field."""


class _Part(BaseModel):
    # Unknown fields are Telegram's business: accepted, not read.
    model_config = ConfigDict(extra="allow", frozen=True)


class UserShape(_Part):
    id: TelegramId
    is_bot: StrictBool
    first_name: ShortText
    last_name: ShortText | None = None
    username: ShortText | None = None
    language_code: ShortText | None = None


class ChatShape(_Part):
    id: TelegramId
    type: ShortText


class ContactShape(_Part):
    phone_number: ShortText
    user_id: TelegramId | None = None


class EntityShape(_Part):
    type: ShortText


class MessageShape(_Part):
    message_id: TelegramId
    date: StrictInt
    chat: ChatShape
    from_: UserShape | None = Field(default=None, alias="from")
    text: Text | None = None
    caption: Text | None = None
    contact: ContactShape | None = None
    entities: list[EntityShape] | None = None
    forward_origin: Any = None  # only whether it is there is read

    def has(self, field: str) -> bool:
        """Whether a field the shape does not name (a sticker, a photo…) is there and not empty."""
        extra = self.model_extra
        return bool(extra and extra.get(field))


class CallbackQueryShape(_Part):
    id: ShortText
    from_: UserShape = Field(alias="from")
    message: MessageShape | None = None
    data: ShortText | None = None


class UpdateShape(_Part):
    update_id: UpdateId
    message: MessageShape | None = None
    edited_message: MessageShape | None = None
    callback_query: CallbackQueryShape | None = None


def read_update(data: Any) -> UpdateShape:
    """`data` read as a Telegram update, or InvalidUpdate naming the first fault."""
    if not isinstance(data, dict):
        raise InvalidUpdate("expected a JSON object (a Telegram Update)")
    try:
        return UpdateShape.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"]) or "update"
        raise InvalidUpdate(f"{path}: {error['msg']}") from None


def read_update_body(body: bytes) -> UpdateShape:
    """A webhook body read as a Telegram update, or BadJson / InvalidUpdate saying what is
    wrong with it.

    Most bodies go straight from JSON to the shape (a third of the CPU of decoding,
    copying and validating). Those that may need repairs or a precise refusal take the
    full path: a NUL or a lone surrogate can only come as a `\\u` escape (raw, it is not
    JSON, or not UTF-8), and a body that is not a valid update is read again there to
    name its fault as the full path words it.
    """
    if b"\\u" not in body and body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        try:
            return UpdateShape.model_validate_json(body)
        except ValidationError:
            pass
    return read_update(storable_strings(load_json(body)))


def read_polled(data: Any) -> UpdateShape | None:
    """One item of a getUpdates answer, read as a webhook body is (its texts made storable),
    or None (logged) when its shape is not Telegram's."""
    try:
        return read_update(storable_strings(data))
    except InvalidUpdate as exc:
        update_id = data.get("update_id") if isinstance(data, dict) else None
        log.warning("update %s skipped: %s", update_id, exc)
        return None

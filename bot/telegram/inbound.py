"""Translate a Telegram update into what the service understands — or into nothing.

Pure: no I/O, no decisions about the conversation. Every Telegram shape a prospect
can produce maps to one channel-neutral :class:`conversations.exchange.Inbound`; the
engine decides what to answer. The update is the checked JSON of
`bot.telegram.update_model`, as Telegram sent it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.service import ConversationKey, Profile
from bot.telegram.update_model import MessageShape, UpdateShape, UserShape
from conversations.exchange import Inbound

CHANNEL = "telegram"
PRIVATE = "private"  # the chat type of a one-to-one chat with the bot
# Entity types that address the bot in a group: "/start@leadbot" or "@leadbot".
_ADDRESSING = frozenset({"bot_command", "mention"})
# Telegram caps callback_data at 64 bytes; anything else did not come from our buttons.
_MAX_CALLBACK_BYTES = 64
# Message attributes that carry something other than text, in the order we name them.
_MEDIA = (
    "sticker", "photo", "voice", "video_note", "video", "animation", "audio", "document",
    "location", "venue", "contact", "poll", "dice", "game", "story", "invoice",
)


@dataclass(frozen=True, slots=True)
class ForService:
    """A prospect's message for the lead service."""

    key: ConversationKey
    inbound: Inbound
    profile: Profile
    message_id: str  # the de-duplication key: str(update_id)
    callback_query_id: str | None = None


@dataclass(frozen=True, slots=True)
class PointToPrivateChat:
    """Someone wrote in a group: the flow runs only in a private chat."""

    chat_id: int
    language_code: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing to do (service messages, channel posts, our own bot's echoes…)."""

    callback_query_id: str | None = None


Translation = ForService | PointToPrivateChat | Ignored


def translate(update: UpdateShape) -> Translation:
    """What this update means for Leadbot."""
    if update.callback_query is not None:
        return _callback(update)
    message = update.message or update.edited_message
    if message is None or message.from_ is None or message.from_.is_bot:
        return Ignored()
    user = message.from_
    if message.chat.type != PRIVATE:
        # Answer only what was addressed to the bot (a command or a mention), so a
        # group's chatter is not met with a redirect each time. Channel posts never
        # reach here (they come as channel_post, not message).
        if update.edited_message is None and _addresses_bot(message):
            return PointToPrivateChat(message.chat.id, user.language_code or "")
        return Ignored()
    if update.edited_message is not None:
        # An edit can't re-answer a question already recorded; the engine asks for a
        # new message instead of silently changing the lead's data.
        return _for_service(update, user, message, _unsupported(user, "edited_message"))
    return _for_service(update, user, message, _message_inbound(message, user))


def _message_inbound(message: MessageShape, user: UserShape) -> Inbound:
    if message.forward_origin is not None:
        # A forwarded text is someone else's words, not the prospect's answer.
        return _unsupported(user, "forwarded_message")
    if message.contact is not None:
        if message.contact.user_id is not None and message.contact.user_id == user.id:
            return Inbound(kind="contact", text=message.contact.phone_number,
                           first_name=user.first_name, language_code=user.language_code or "")
        return _unsupported(user, "contact")  # someone else's card: not their phone
    if message.text is not None:
        return Inbound.parse_text(message.text, first_name=user.first_name,
                                  language_code=user.language_code or "")
    kind = next((name for name in _MEDIA if message.has(name)), "other")
    return _unsupported(user, kind)


def _addresses_bot(message: MessageShape) -> bool:
    return any(entity.type in _ADDRESSING for entity in message.entities or ())


def _callback(update: UpdateShape) -> Translation:
    query = update.callback_query
    assert query is not None
    message = query.message
    if message is None or message.chat.type != PRIVATE or query.from_.is_bot:
        return Ignored(callback_query_id=query.id)
    if query.from_.id != message.chat.id:
        # In a private chat the prospect's user id is the chat id: a press from
        # anyone else is not the prospect's answer.
        return Ignored(callback_query_id=query.id)
    user = query.from_
    inbound = Inbound(kind="choice", choice=_safe_token(query.data), first_name=user.first_name,
                      language_code=user.language_code or "")
    return ForService(
        key=ConversationKey(CHANNEL, str(message.chat.id)),
        inbound=inbound,
        profile=_profile(user),
        message_id=str(update.update_id),
        callback_query_id=query.id,
    )
def _safe_token(data: str | None) -> str:
    """The button token, or "" for anything our buttons can't have produced.

    The engine answers an unknown token with a polite re-ask; the adapter only makes
    sure oversized or unencodable data never reaches it.
    """
    if not data:
        return ""
    try:
        size = len(data.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates from a forged payload
        return ""
    if size > _MAX_CALLBACK_BYTES or not data.isprintable():
        return ""
    return data


def _for_service(
    update: UpdateShape, user: UserShape, message: MessageShape, inbound: Inbound
) -> ForService:
    return ForService(
        key=ConversationKey(CHANNEL, str(message.chat.id)),
        inbound=inbound,
        profile=_profile(user),
        message_id=str(update.update_id),
    )


def _unsupported(user: UserShape, what: str) -> Inbound:
    return Inbound(kind="unsupported", text=what, first_name=user.first_name,
                   language_code=user.language_code or "")


def _profile(user: UserShape) -> Profile:
    return Profile(
        first_name=user.first_name or "",
        last_name=user.last_name or "",
        username=user.username or "",
        language_code=user.language_code or "",
    )

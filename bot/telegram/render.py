"""Render one queued reply (the outbox payload of an engine `Reply`) as Telegram calls.

Pure: takes the payload and what was delivered before it in the same chat, returns
the sends/edits to make. Engine texts are plain text; they go out in HTML parse mode
with everything escaped, so a prospect's "<b>" or "&" echoed back is shown verbatim.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from telegram.constants import MessageLimit

from bot.telegram.texts import SHARE_PHONE

# A `reply_markup` as the Bot API reads it (InlineKeyboardMarkup, ReplyKeyboardMarkup or
# ReplyKeyboardRemove in JSON): built as plain data, since PTB would only turn its
# objects back into this on every send.
Markup = dict[str, Any]
# Labels up to this length sit two to a row; longer ones get a row each so nothing
# is truncated on a phone screen.
_SHORT_LABEL = 16


@dataclass(frozen=True, slots=True)
class Delivered:
    """What an earlier reply to the same chat became (kept in the outbox row's `result`)."""

    message_id: int
    text: str  # plain text of the message that carried the keyboard
    had_choices: bool
    request_phone: bool

    @classmethod
    def from_result(cls, result: dict[str, Any] | None, payload: dict[str, Any]) -> Delivered | None:
        if not result or "message_id" not in result:
            return None
        return cls(
            message_id=int(result["message_id"]),
            text=str(result.get("text", "")),
            had_choices=bool(payload.get("choices")),
            request_phone=bool(payload.get("request_phone")),
        )


@dataclass(frozen=True, slots=True)
class SendText:
    html: str
    plain: str
    markup: Markup | None = None


@dataclass(frozen=True, slots=True)
class EditQuestion:
    """Show the chosen answer under the tapped question and drop its keyboard."""

    message_id: int
    html: str
    fallback: SendText  # if the question message can no longer be edited


@dataclass(frozen=True, slots=True)
class StripKeyboard:
    """Remove the buttons of an earlier, unanswered question before asking another one,
    so only the latest question can be tapped."""

    message_id: int


Operation = SendText | EditQuestion | StripKeyboard


def render_reply(
    payload: dict[str, Any], *, lang: str, previous: Delivered | None, question: Delivered | None
) -> list[Operation]:
    """The Telegram operations for one reply.

    `previous` is the reply delivered just before this one in the chat; `question` the
    latest delivered reply whose buttons are still showing (the one a tap answered).
    """
    text = str(payload.get("text") or "")
    if payload.get("remove_keyboard") and question is not None:
        combined = f"{question.text}\n\n{text}"
        if len(combined) <= MessageLimit.MAX_TEXT_LENGTH:
            return [EditQuestion(question.message_id, html.escape(combined, quote=False),
                                 fallback=SendText(html.escape(text, quote=False), text))]
    chunks = split_text(text)
    markup = _markup(payload, lang=lang, previous=previous)
    operations: list[Operation] = []
    asks_again = bool(payload.get("choices") or payload.get("question_id"))
    if asks_again and question is not None and not payload.get("remove_keyboard"):
        operations.append(StripKeyboard(question.message_id))
    operations += [SendText(html.escape(c, quote=False), c) for c in chunks[:-1]]
    last = chunks[-1]
    operations.append(SendText(html.escape(last, quote=False), last, markup))
    return operations


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut at paragraph, line or word boundaries so each piece fits one message.

    The limit applies to the text after entity parsing, so pieces are cut before
    escaping (an escape sequence is never split).
    """
    text = text.strip() or "…"
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit  # one very long word: cut it rather than loop
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return [p for p in pieces if p] or ["…"]


def uses_language(payload: dict[str, Any]) -> bool:
    """Whether `render_reply` reads `lang` for this payload: only the share-phone button is
    translated here (the texts come translated), so other replies need no language look-up."""
    return bool(payload.get("request_phone"))


def _markup(payload: dict[str, Any], *, lang: str, previous: Delivered | None) -> Markup | None:
    choices = [(str(c["token"]), str(c["label"])) for c in payload.get("choices") or ()]
    if payload.get("request_phone"):
        # A reply keyboard can't hold callback buttons, so the other choices (e.g. "Skip")
        # become plain text buttons: tapping one sends its label, which the engine reads.
        rows: list[list[dict[str, Any]]] = [
            [{"text": SHARE_PHONE.get(lang, SHARE_PHONE["en"]), "request_contact": True}]]
        rows += [[{"text": label}] for _, label in choices]
        return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}
    if choices:
        return {"inline_keyboard": _rows(choices)}
    if previous is not None and previous.request_phone:
        return {"remove_keyboard": True}
    return None


def _rows(choices: list[tuple[str, str]]) -> list[list[dict[str, str]]]:
    buttons = [{"text": label, "callback_data": token} for token, label in choices]
    if all(len(label) <= _SHORT_LABEL for _, label in choices):
        return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return [[button] for button in buttons]

"""What a prospect receives for one turn: the engine's replies composed into chat messages.

The engine says things in pieces — a greeting, the privacy notice, "Welcome back!", "Sorry,
I didn't catch that.", then the question — because that is how its rules read. A prospect
should get one message per turn: Telegram paces a bot at about one message a second per
chat, so a turn sent as two spends two of those, and two bubbles for one thought read
worse. Every channel shows the same messages: the service queues and returns these, and
the studio's preview (which runs the engine without the service) composes them the same way.

Pure, like the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from conversations.exchange import Reply

# The longest text one message may hold: Telegram's limit (4,096 characters after entity
# parsing), the tightest of our channels. Pieces are joined only while the message fits,
# so a turn is split only where Telegram would refuse it whole.
MESSAGE_LIMIT = 4096
PARAGRAPH = "\n\n"


def one_message_per_turn(
    replies: Sequence[Reply], *, limit: int = MESSAGE_LIMIT
) -> tuple[Reply, ...]:
    """The turn's replies as the messages to send.

    Plain texts (no buttons, not a question) are joined, a blank line between them, into
    the message that follows them: the question with its keyboard, or else the turn's
    last text. The message keeps that reply's buttons, `question_id` and phone request,
    so channels still recognise it as the question. Two replies stay apart:

    * the confirmation of a tapped button (`remove_keyboard`), which belongs to the tapped
      question (Telegram writes it into that message) and is not a new message;
    * pieces whose join would pass `limit`: the pieces before are sent first. A single
      reply longer than `limit` is left whole for the channel to split.
    """
    messages: list[Reply] = []
    leading: list[str] = []  # plain texts waiting for the message they lead into

    def flush() -> None:
        if leading:
            messages.append(Reply(text=_join(leading)))
            leading.clear()

    for reply in replies:
        if reply.remove_keyboard:
            flush()
            messages.append(reply)
            continue
        if leading and len(_join((*leading, reply.text))) > limit:
            flush()
        if _is_plain(reply):
            leading.append(reply.text)
        elif leading:
            messages.append(replace(reply, text=_join((*leading, reply.text))))
            leading.clear()
        else:
            messages.append(reply)
    flush()
    return tuple(messages)


def _is_plain(reply: Reply) -> bool:
    return not (reply.choices or reply.question_id or reply.request_phone or reply.remove_keyboard)


def _join(pieces: Sequence[str]) -> str:
    # A blank piece would only leave a gap at the top of the message.
    return PARAGRAPH.join(piece for piece in pieces if piece.strip())

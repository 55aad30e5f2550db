"""One Telegram message per turn: what a prospect's message costs in Bot API calls.

Telegram lets a bot send about one message a second to a chat; a turn answered with two
messages (an acknowledgement, then the question) spends two of those. Each test plays a
prospect against the fake Bot API and counts, per turn, the new messages sent to the chat
and the edits of earlier ones (an edit is not a message: it is not paced per chat).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.test_telegram_flow import CONTACT_ANSWERS


@dataclass(frozen=True)
class Turn:
    sent: int  # sendMessage
    edited: int  # editMessageText: "✓ answer" under a tapped question
    stripped: int  # editMessageReplyMarkup: an earlier question's buttons removed


def _calls(fake: Any, method: str, chat_id: int) -> int:
    return sum(1 for call in fake.calls_of(method) if int(call.params["chat_id"]) == chat_id)


async def counted(prospect: Any, act: Callable[[], Awaitable[list[str]]]) -> tuple[Turn, list[str]]:
    """Run one turn; returns what it cost and the texts of the new messages."""
    fake, chat = prospect.fake, prospect.chat_id
    before = [_calls(fake, m, chat)
              for m in ("sendMessage", "editMessageText", "editMessageReplyMarkup")]
    texts = await act()
    after = [_calls(fake, m, chat)
             for m in ("sendMessage", "editMessageText", "editMessageReplyMarkup")]
    return Turn(*(a - b for a, b in zip(after, before, strict=True))), texts


async def test_start_is_one_message_greeting_privacy_and_question(telegram_bot: Any) -> None:
    ada = telegram_bot.prospect(301, first_name="Ada")
    turn, texts = await counted(ada, lambda: ada.say("/start"))
    assert turn == Turn(sent=1, edited=0, stripped=0)
    [opening] = texts
    greeting, privacy, question = opening.split("\n\n")
    assert greeting.startswith("Hi Ada! I'm Leadbot.")
    assert privacy.startswith("Privacy:") and "/forget" in privacy
    assert question == "Which sector is your company in?"
    # The one message is the question: it carries the keyboard.
    assert ada.messages[-1].inline_keyboard is not None and len(ada.buttons) == 8


async def test_a_typed_answer_is_one_message_and_strips_the_answered_buttons(
    telegram_bot: Any,
) -> None:
    bob = telegram_bot.prospect(302)
    await bob.say("/start")
    turn, texts = await counted(bob, lambda: bob.say("we build SaaS software"))
    assert turn == Turn(sent=1, edited=0, stripped=1)
    assert texts == ["How many people work at your company?"]
    assert [m for m in bob.messages if m.inline_keyboard] == [bob.messages[-1]]


async def test_a_tapped_answer_edits_the_question_and_sends_one_message(
    telegram_bot: Any,
) -> None:
    cy = telegram_bot.prospect(303, first_name="Cy")
    await cy.say("/start")
    turn, texts = await counted(cy, lambda: cy.tap("Software & SaaS"))
    assert turn == Turn(sent=1, edited=1, stripped=0)
    assert texts == ["How many people work at your company?"]
    opening = cy.messages[0]
    assert opening.text.endswith("Which sector is your company in?\n\n✓ Software & SaaS")
    assert opening.text.startswith("Hi Cy!") and opening.inline_keyboard is None


async def test_a_re_ask_after_an_answer_not_understood_is_one_message(
    telegram_bot: Any,
) -> None:
    dee = telegram_bot.prospect(304)
    await dee.say("/start")
    turn, texts = await counted(dee, lambda: dee.say("qwertyuiop"))
    assert turn == Turn(sent=1, edited=0, stripped=1)
    assert texts == ["Sorry, I didn't catch that.\nWhich sector is your company in?"]
    assert dee.messages[-1].inline_keyboard is not None
    # A sticker used to get "I can only read text" and the question as two messages.
    turn, texts = await counted(dee, lambda: dee.send("sticker"))
    assert turn == Turn(sent=1, edited=0, stripped=1)
    assert texts == [("I can only read text. Please answer in text or tap a button.\n\n"
                      "Which sector is your company in?")]
    assert [m for m in dee.messages if m.inline_keyboard] == [dee.messages[-1]]


async def test_welcome_back_is_one_message_with_the_question(telegram_bot: Any) -> None:
    eve = telegram_bot.prospect(305)
    await eve.say("/start")
    await eve.tap("Healthcare")
    turn, texts = await counted(eve, lambda: eve.say("/start"))
    assert turn == Turn(sent=1, edited=0, stripped=1)
    assert texts == ["Welcome back!\n\nHow many people work at your company?"]
    assert eve.messages[-1].inline_keyboard is not None


async def test_whole_default_conversation_costs_one_message_per_turn(telegram_bot: Any) -> None:
    """/start, the four qualifying questions by buttons, then the contact questions typed."""
    ada = telegram_bot.prospect(306, first_name="Ada")
    turns = [
        (await counted(ada, act))[0]
        for act in (
            lambda: ada.say("/start"),
            lambda: ada.tap("Software & SaaS"),
            lambda: ada.tap("201–1000"),
            lambda: ada.tap("100 k€ or more"),
            lambda: ada.tap("Within a month"),
            lambda: ada.say("Ada Lovelace"),
            lambda: ada.say("Analytical Engines"),
            lambda: ada.say("ada@example.com"),
            lambda: ada.send("contact", "+44 20 7946 0958"),
        )
    ]
    assert turns == [
        Turn(1, 0, 0),  # greeting + privacy + sector question
        Turn(1, 1, 0), Turn(1, 1, 0), Turn(1, 1, 0), Turn(1, 1, 0),  # ✓ edit + next question
        Turn(1, 0, 0), Turn(1, 0, 0), Turn(1, 0, 0),  # name, company, email: typed
        Turn(1, 0, 0),  # the phone shared: the qualified closing with the booking link
    ]
    assert sum(t.sent for t in turns) == len(ada.messages) == 9
    assert telegram_bot.answers(306)[4:] == CONTACT_ANSWERS
    assert telegram_bot.lead(306).stage == "sql"

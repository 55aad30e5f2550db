"""Rendering queued replies for Telegram: escaping, splitting, keyboards, edits."""

from __future__ import annotations

import html
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove

from bot.service import reply_payload
from bot.telegram.delivery import last_reply_and_open_question
from bot.telegram.render import (
    Delivered,
    EditQuestion,
    SendText,
    render_reply,
    split_text,
    uses_language,
)
from conversations.exchange import Choice, Reply
from conversations.outgoing import one_message_per_turn
from tests.fakes.telegram_api import html_to_plain


def payload(text: str = "Which sector?", **extra: object) -> dict[str, object]:
    return {"text": text, "choices": [], "question_id": None, "request_phone": False,
            "remove_keyboard": False, **extra}


def test_plain_text_is_escaped_for_html() -> None:
    [op] = render_reply(payload("<b>Tom & Jerry</b> said 1 < 2"), lang="en", previous=None,
                        question=None)
    assert isinstance(op, SendText)
    assert op.html == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt; said 1 &lt; 2"
    assert html_to_plain(op.html) == "<b>Tom & Jerry</b> said 1 < 2"


@given(st.text(min_size=1, max_size=9000))
def test_any_text_renders_to_valid_messages_that_read_back_the_same(text: str) -> None:
    operations = render_reply(payload(text), lang="en", previous=None, question=None)
    plains = [html_to_plain(op.html) for op in operations if isinstance(op, SendText)]
    assert all(1 <= len(p) <= 4096 for p in plains)
    expected = text.strip() or "…"
    assert "".join(plains).replace(" ", "").replace("\n", "") == \
        expected.replace(" ", "").replace("\n", "")


def test_long_texts_are_split_at_word_boundaries() -> None:
    text = " ".join(["word"] * 2000)  # ~10 000 characters
    pieces = split_text(text)
    assert len(pieces) == 3
    assert all(len(p) <= 4096 and not p.startswith(" ") for p in pieces)
    assert " ".join(pieces) == text


def test_keyboard_goes_on_the_last_piece_only() -> None:
    long = payload("x " * 3000, choices=[{"token": "a:q:1", "label": "One"}])
    operations = render_reply(long, lang="en", previous=None, question=None)
    assert [op.markup is not None for op in operations if isinstance(op, SendText)] == [False, True]


def test_short_labels_two_per_row_long_labels_one_per_row() -> None:
    short = [{"token": f"a:q:{i}", "label": f"{i}"} for i in range(5)]
    [op] = render_reply(payload(choices=short), lang="en", previous=None, question=None)
    assert isinstance(op, SendText) and op.markup is not None
    assert [len(row) for row in op.markup["inline_keyboard"]] == [2, 2, 1]
    assert op.markup["inline_keyboard"][0][1] == {"text": "1", "callback_data": "a:q:1"}

    long = [{"token": "a:q:x", "label": "Public sector & non-profit"}, {"token": "a:q:y", "label": "IT"}]
    [op] = render_reply(payload(choices=long), lang="en", previous=None, question=None)
    assert isinstance(op, SendText) and op.markup is not None
    assert [len(row) for row in op.markup["inline_keyboard"]] == [1, 1]
    # The Bot API's own shape: PTB reads it back as a keyboard.
    keyboard = InlineKeyboardMarkup.de_json(op.markup, None)
    assert keyboard.inline_keyboard[0][0].text == "Public sector & non-profit"


def test_phone_question_gets_a_share_contact_keyboard_in_the_prospects_language() -> None:
    ask = payload("Your phone?", request_phone=True, choices=[{"token": "s:phone", "label": "Passer"}])
    [op] = render_reply(ask, lang="fr", previous=None, question=None)
    assert isinstance(op, SendText) and op.markup is not None
    assert op.markup["one_time_keyboard"] and op.markup["resize_keyboard"]
    share, skip = op.markup["keyboard"]
    assert share[0]["request_contact"] and "Partager" in share[0]["text"]
    assert skip == [{"text": "Passer"}]


@given(st.booleans(), st.booleans(), st.booleans(), st.sampled_from(["fr", "de", "ru", "xx"]))
def test_only_payloads_said_to_use_the_language_render_differently_in_another_one(
    request_phone: bool, with_choices: bool, remove_keyboard: bool, lang: str,
) -> None:
    choices = [{"token": "a:1", "label": "Yes"}] if with_choices else []
    reply = payload("Well?", request_phone=request_phone, choices=choices,
                    remove_keyboard=remove_keyboard)
    earlier = Delivered(message_id=3, text="Phone?", had_choices=True, request_phone=True)
    for previous in (None, earlier):
        english = render_reply(reply, lang="en", previous=previous, question=previous)
        other = render_reply(reply, lang=lang, previous=previous, question=previous)
        assert english == other or uses_language(reply)
        if request_phone and lang == "fr" and previous is None:  # the property can tell
            assert english != other


def test_the_reply_after_a_phone_question_removes_that_keyboard() -> None:
    phone = Delivered(message_id=9, text="Your phone?", had_choices=True, request_phone=True)
    [op] = render_reply(payload("Thanks!"), lang="en", previous=phone, question=phone)
    assert isinstance(op, SendText) and op.markup == {"remove_keyboard": True}
    assert ReplyKeyboardRemove.de_json(op.markup, None).remove_keyboard


def test_a_confirmation_edits_the_question_that_was_answered() -> None:
    question = Delivered(message_id=4, text="Which <sector>?", had_choices=True, request_phone=False)
    [op] = render_reply(payload("✓ Software & SaaS", remove_keyboard=True), lang="en",
                        previous=question, question=question)
    assert isinstance(op, EditQuestion)
    assert op.message_id == 4
    assert html_to_plain(op.html) == "Which <sector>?\n\n✓ Software & SaaS"
    assert html.unescape(op.fallback.html) == "✓ Software & SaaS"


def test_a_confirmation_without_a_known_question_is_sent() -> None:
    [op] = render_reply(payload("✓ Software", remove_keyboard=True), lang="en", previous=None,
                        question=None)
    assert isinstance(op, SendText) and op.plain == "✓ Software"


def test_pacing_allows_a_burst_then_one_message_a_second() -> None:
    from bot.telegram.pacing import ChatPacer, PacingPolicy

    now = [100.0]
    pacer = ChatPacer(PacingPolicy(per_second=1.0, burst=3), clock=lambda: now[0])
    waits = [pacer._reserve(1) for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert pacer._reserve(2) == 0.0  # another chat is not slowed down
    now[0] += 10
    assert pacer._reserve(1) == 0.0  # refilled while idle


def test_a_composed_turn_is_one_escaped_message_that_is_still_the_question() -> None:
    """/start as queued: greeting (a prospect's name in it), privacy notice and the question in
    one payload; it renders as one message with the keyboard, and a tap on it edits it whole."""
    replies = [Reply(text="Hi <b>Al</b> & Co!\n\nPrivacy: send /forget."),
               Reply(text="Which sector?", question_id="sector",
                     choices=(Choice("a:sector:software", "Software & SaaS"),))]
    [queued] = [reply_payload(r) for r in one_message_per_turn(replies)]
    [op] = render_reply(queued, lang="en", previous=None, question=None)
    assert isinstance(op, SendText) and op.markup is not None and "inline_keyboard" in op.markup
    assert op.html == ("Hi &lt;b&gt;Al&lt;/b&gt; &amp; Co!\n\nPrivacy: send /forget."
                       "\n\nWhich sector?")
    delivered = Delivered.from_result({"message_id": 7, "text": op.plain}, queued)
    assert delivered is not None and delivered.had_choices and not delivered.request_phone
    [edit] = render_reply(payload("✓ Software & SaaS", remove_keyboard=True), lang="en",
                          previous=delivered, question=delivered)
    assert isinstance(edit, EditQuestion) and edit.message_id == 7
    assert html_to_plain(edit.html) == f"{op.plain}\n\n✓ Software & SaaS"


# --- what a reply knows of the chat: its previous message and the open question -----------

def _oldest_first(
    delivered: list[tuple[dict[str, Any], dict[str, Any] | None]],
) -> tuple[Delivered | None, Delivered | None]:
    """The rule stated plainly, reading the whole history oldest first."""
    previous = question = None
    for payload, result in delivered:
        result = result or {}
        if question is not None and question.message_id in (result.get("edited"),
                                                             result.get("stripped")):
            question = None  # its keyboard is gone
        sent = Delivered.from_result(result, payload)
        if sent is None:
            continue
        previous = sent
        if sent.had_choices and not sent.request_phone:
            question = sent
    return previous, question


_payloads = st.sampled_from([
    {"text": "plain"}, {"text": "pick", "choices": [{"id": "a", "label": "A"}]},
    {"text": "phone", "choices": [{"id": "p", "label": "P"}], "request_phone": True},
])


@st.composite
def _histories(draw: st.DrawFn) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    history: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for number in range(draw(st.integers(0, 24))):
        sent_ids = [r["message_id"] for _, r in history if r and "message_id" in r]
        earlier = st.sampled_from(sent_ids) if sent_ids else st.just(999)
        result = draw(st.one_of(
            st.none(),
            st.just({"message_id": 100 + number, "text": f"m{number}"}),
            st.builds(lambda gone: {"message_id": 100 + number, "stripped": gone}, earlier),
            st.builds(lambda gone: {"edited": gone}, earlier),
            st.builds(lambda gone: {"stripped": gone}, earlier),
        ))
        history.append((draw(_payloads), result))
    return history


@given(_histories(), st.integers(1, 10))
def test_reading_the_newest_deliveries_first_finds_what_reading_all_finds(
    history: list[tuple[dict[str, Any], dict[str, Any] | None]], limit: int
) -> None:
    newest_first = history[::-1]
    page = newest_first[:limit]
    previous, question, settled = last_reply_and_open_question(page)
    if not settled and len(page) == limit:  # as the sender does: a full page, read them all
        previous, question, _ = last_reply_and_open_question(newest_first)
    assert (previous, question) == _oldest_first(history)

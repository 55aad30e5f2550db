"""One message per turn: how the engine's replies are composed into what a prospect receives."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from conversations.exchange import Choice, Inbound, Reply
from conversations.outgoing import MESSAGE_LIMIT, PARAGRAPH, one_message_per_turn
from tests.transcripts import Transcript

QUESTION = Reply(text="Which sector?", choices=(Choice("a:sector:x", "X"),), question_id="sector")


def test_start_is_greeting_privacy_and_question_in_the_question_message() -> None:
    t = Transcript()
    replies = t.say("/start")
    assert len(replies) == 2  # the engine says the greeting, then asks
    [message] = one_message_per_turn(replies)
    greeting, privacy, question = message.text.split(PARAGRAPH)
    assert greeting.startswith("Hi Ada!") and "/forget" in privacy
    assert question == "Which sector is your company in?"
    assert message.question_id == "sector" and len(message.choices) == 8
    assert message.choices == replies[-1].choices


def test_a_tap_keeps_its_confirmation_apart_from_the_next_question() -> None:
    t = Transcript()
    t.say("/start")
    confirmation, question = one_message_per_turn(t.tap("Software & SaaS"))
    assert confirmation == Reply(text="✓ Software & SaaS", remove_keyboard=True)
    assert question.question_id == "company_size" and question.text == (
        "How many people work at your company?")


def test_typed_answer_and_re_ask_are_one_message() -> None:
    t = Transcript()
    t.say("/start")
    [re_ask] = one_message_per_turn(t.say("qwertyuiop"))
    assert re_ask.text == "Sorry, I didn't catch that.\nWhich sector is your company in?"
    assert re_ask.question_id == "sector" and re_ask.choices
    [next_question] = one_message_per_turn(t.say("we build SaaS software"))
    assert next_question.question_id == "company_size"


def test_explanations_lead_into_the_question_they_come_with() -> None:
    t = Transcript()
    t.say("/start")
    t.tap("Healthcare")
    [welcome] = one_message_per_turn(t.say("/start"))
    assert welcome.text == "Welcome back!\n\nHow many people work at your company?"
    assert welcome.question_id == "company_size" and welcome.choices
    [sticker] = one_message_per_turn(
        t._send(Inbound(kind="unsupported", text="sticker")))
    assert sticker.text.startswith("I can only read text.") and sticker.question_id


def test_the_qualified_closing_and_the_booking_link_are_one_message() -> None:
    t = Transcript()
    for text in ("/start", "software", "about 120", "50k", "asap", "Ada Lovelace", "Engines",
                 "ada@example.com", "skip"):
        t.say(text)
    assert t.state.stage == "sql" and len(t.replies) == 2
    [closing] = one_message_per_turn(t.replies)
    thanks, booking = closing.text.split(PARAGRAPH)
    assert "sales team will contact you" in thanks and "https://cal.com/" in booking
    assert closing.choices == () and closing.question_id is None


def test_pieces_are_joined_only_while_the_message_fits() -> None:
    long = "x" * (MESSAGE_LIMIT - 10)
    greeting, question = one_message_per_turn([Reply(text=long), QUESTION])
    assert greeting == Reply(text=long) and question == QUESTION  # together: too long
    [fits] = one_message_per_turn([Reply(text="y" * 100), QUESTION], limit=115)
    assert len(fits.text) == 115 and fits.question_id == "sector"
    huge = "z" * (MESSAGE_LIMIT + 1)  # one piece over the limit: the channel splits it
    assert one_message_per_turn([Reply(text=huge)]) == (Reply(text=huge),)


def test_nothing_to_say_is_nothing_sent_and_blank_pieces_leave_no_gap() -> None:
    assert one_message_per_turn([]) == ()
    [message] = one_message_per_turn([Reply(text=" "), Reply(text="Hello"), QUESTION])
    assert message.text == "Hello\n\nWhich sector?"


# --- properties ------------------------------------------------------------------

_text = st.text(alphabet="ab \n✓<&", min_size=0, max_size=40)
_reply = st.one_of(
    st.builds(Reply, text=_text),
    st.builds(Reply, text=_text, remove_keyboard=st.just(True)),
    st.builds(Reply, text=_text, question_id=st.just("q"),
              choices=st.sampled_from([(), (Choice("a:q:o", "O"),)]),
              request_phone=st.booleans()),
    st.builds(Reply, text=_text, choices=st.just((Choice("f:yes", "Yes"),))),
)


def _plain(reply: Reply) -> bool:
    return not (reply.choices or reply.question_id or reply.request_phone
                or reply.remove_keyboard)


@given(st.lists(_reply, max_size=8), st.integers(min_value=1, max_value=120))
def test_composition_keeps_every_word_in_order_and_every_keyboard(
    replies: list[Reply], limit: int
) -> None:
    messages = one_message_per_turn(replies, limit=limit)
    words = [r.text for r in replies if r.text.strip() or not _plain(r)]
    assert PARAGRAPH.join(t for t in words if t.strip()) == PARAGRAPH.join(
        m.text for m in messages if m.text.strip())
    keyed = [r for r in replies if not _plain(r)]
    assert [(m.choices, m.question_id, m.request_phone, m.remove_keyboard)
            for m in messages if not _plain(m)] == [
        (r.choices, r.question_id, r.request_phone, r.remove_keyboard) for r in keyed]
    assert len(messages) <= len(replies)
    # A tap's confirmation is written into the tapped question: nothing is joined to it.
    assert [m.text for m in messages if m.remove_keyboard] == [
        r.text for r in replies if r.remove_keyboard]
    originals = {r.text for r in replies}
    for message in messages:
        # Over the limit only when one of the engine's pieces alone was.
        assert len(message.text) <= limit or message.text in originals
    for first, second in itertools.pairwise(messages):
        # Never split where the join would have fitted (a tap's confirmation stands apart).
        if _plain(first) and not second.remove_keyboard:
            assert len(first.text + PARAGRAPH + second.text) > limit

"""Updates as Telegram sends them (JSON) → what the service is given, without PTB objects.

The end-to-end tests drive these paths through the fake Telegram server; here each
shape of update is read and translated on its own, so a field the translation reads
wrongly names itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.service import ConversationKey, Profile
from bot.telegram.inbound import ForService, Ignored, PointToPrivateChat, translate
from bot.telegram.processor import chat_key
from bot.telegram.update_model import InvalidUpdate, read_polled, read_update, read_update_body
from bot.web.json_input import BadJson, load_json, storable_strings

ADA = {"id": 777, "is_bot": False, "first_name": "Ada", "last_name": "Lovelace",
       "username": "ada", "language_code": "fr"}


def message(text: str | None = "hello", *, chat: dict[str, Any] | None = None,
            sender: dict[str, Any] | None = ADA, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": 5, "date": 1_700_000_000,
                            "chat": chat or {"id": 777, "type": "private"}, **fields}
    if sender is not None:
        body["from"] = sender
    if text is not None:
        body["text"] = text
    return body


def update(**fields: Any) -> dict[str, Any]:
    return {"update_id": 41, **fields}


def translated(data: dict[str, Any]) -> Any:
    return translate(read_update(data))


def test_a_private_text_reaches_the_service_with_the_senders_profile() -> None:
    result = translated(update(message=message("about 300 people")))
    assert result == ForService(
        key=ConversationKey("telegram", "777"),
        inbound=result.inbound,
        profile=Profile(first_name="Ada", last_name="Lovelace", username="ada",
                        language_code="fr"),
        message_id="41",
    )
    assert (result.inbound.kind, result.inbound.text, result.inbound.language_code) == (
        "text", "about 300 people", "fr")


def test_a_command_is_parsed_with_its_deep_link_payload() -> None:
    result = translated(update(message=message("/start campaign-7")))
    assert isinstance(result, ForService)
    assert (result.inbound.kind, result.inbound.command, result.inbound.args) == (
        "command", "start", ("campaign-7",))


@pytest.mark.parametrize(("fields", "kind"), [
    ({"sticker": {"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1,
                  "is_animated": False, "is_video": False, "type": "regular"}}, "sticker"),
    ({"photo": [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]}, "photo"),
    ({"voice": {"file_id": "x", "file_unique_id": "y", "duration": 2}}, "voice"),
    ({"location": {"latitude": 1.5, "longitude": 2.5}}, "location"),
    ({"photo": []}, "other"),  # an empty list is no photo
    ({}, "other"),
])
def test_a_message_without_text_is_named_by_what_it_carries(fields: dict[str, Any],
                                                             kind: str) -> None:
    result = translated(update(message=message(None, **fields)))
    assert isinstance(result, ForService)
    assert (result.inbound.kind, result.inbound.text) == ("unsupported", kind)


def test_a_forwarded_text_is_not_taken_as_the_prospects_answer() -> None:
    origin = {"type": "user", "date": 1_700_000_000, "sender_user": {**ADA, "id": 9}}
    result = translated(update(message=message("50 people", forward_origin=origin)))
    assert (result.inbound.kind, result.inbound.text) == ("unsupported", "forwarded_message")


def test_only_the_senders_own_contact_is_their_phone() -> None:
    own = translated(update(message=message(
        None, contact={"phone_number": "+33 6 12", "first_name": "Ada", "user_id": 777})))
    assert (own.inbound.kind, own.inbound.text) == ("contact", "+33 6 12")
    other = translated(update(message=message(
        None, contact={"phone_number": "+33 6 99", "first_name": "Bob", "user_id": 9})))
    assert (other.inbound.kind, other.inbound.text) == ("unsupported", "contact")


def test_an_edit_asks_for_a_new_message_instead_of_changing_the_answer() -> None:
    result = translated(update(edited_message=message("500 people")))
    assert (result.inbound.kind, result.inbound.text) == ("unsupported", "edited_message")


def test_a_group_gets_a_pointer_only_when_it_addresses_the_bot() -> None:
    group = {"id": -100, "type": "supergroup"}
    command = [{"type": "bot_command", "offset": 0, "length": 6}]
    assert translated(update(message=message("/start", chat=group, entities=command))) == \
        PointToPrivateChat(-100, "fr")
    assert translated(update(message=message("@leadbot hi", chat=group, entities=[
        {"type": "mention", "offset": 0, "length": 8}]))) == PointToPrivateChat(-100, "fr")
    assert translated(update(message=message("lunch?", chat=group))) == Ignored()
    assert translated(update(edited_message=message("/start", chat=group,
                                                    entities=command))) == Ignored()


@pytest.mark.parametrize("data", [
    update(message=message(sender={**ADA, "is_bot": True})),
    update(message=message(sender=None)),
    update(channel_post=message(chat={"id": -100, "type": "channel"}, sender=None)),
    update(my_chat_member={"chat": {"id": 777, "type": "private"}}),
])
def test_what_no_prospect_wrote_is_ignored(data: dict[str, Any]) -> None:
    assert translated(data) == Ignored()


def callback(data: Any = "sector:saas", *, sender: dict[str, Any] = ADA,
             chat: dict[str, Any] | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {"id": "q1", "from": sender, "chat_instance": "c",
                             "message": message("Which sector?", chat=chat, sender=None)}
    if data is not None:
        query["data"] = data
    return update(callback_query=query)


def test_a_tapped_button_is_a_choice_with_its_query_to_answer() -> None:
    result = translated(callback())
    assert isinstance(result, ForService)
    assert (result.inbound.kind, result.inbound.choice, result.callback_query_id,
            result.key) == ("choice", "sector:saas", "q1", ConversationKey("telegram", "777"))


@pytest.mark.parametrize("data", ["x" * 65, "tab\there", None])
def test_button_data_our_buttons_cannot_have_made_becomes_an_empty_choice(data: Any) -> None:
    result = translated(callback(data))
    assert (result.inbound.kind, result.inbound.choice) == ("choice", "")


def test_a_tap_from_anyone_but_the_prospect_is_only_acknowledged() -> None:
    assert translated(callback(sender={**ADA, "id": 9})) == Ignored(callback_query_id="q1")
    assert translated(callback(chat={"id": -100, "type": "group"})) == \
        Ignored(callback_query_id="q1")
    assert translated(callback(sender={**ADA, "is_bot": True})) == \
        Ignored(callback_query_id="q1")


@pytest.mark.parametrize(("data", "fault"), [
    ([1, 2], "expected a JSON object"),
    ({"message": message()}, "update_id"),
    (update(message=message(chat={"id": "777", "type": "private"})), "message.chat.id"),
    (update(message=message(chat={"id": 2**60, "type": "private"})), "message.chat.id"),
    (update(message=message(text=["a"])), "message.text"),
    (update(callback_query={"id": "q", "chat_instance": "c"}), "callback_query.from"),
])
def test_a_body_that_is_not_a_telegram_update_is_refused_naming_the_field(
    data: Any, fault: str
) -> None:
    with pytest.raises(InvalidUpdate, match=fault.replace(".", r"\.")):
        read_update(data)


def test_a_polled_update_is_read_like_a_webhook_body(caplog: pytest.LogCaptureFixture) -> None:
    polled = read_polled(update(message=message("nul\x00 and \ud800 lone")))
    assert polled is not None and polled.message is not None
    assert polled.message.text == "nul\ufffd and \ufffd lone"
    with caplog.at_level(logging.WARNING):
        assert read_polled(update(message=message(chat={"id": "x", "type": "private"}))) is None
        assert read_polled("not an update") is None
    assert "update 41 skipped: message.chat.id" in caplog.text


def test_each_update_is_ordered_with_the_others_of_its_chat() -> None:
    assert chat_key(read_update(update(message=message()))) == 777
    assert chat_key(read_update(update(edited_message=message()))) == 777
    assert chat_key(read_update(callback())) == 777
    inaccessible = {"id": "q", "from": ADA, "chat_instance": "c"}
    assert chat_key(read_update(update(callback_query=inaccessible))) == ("user", 777)
    assert chat_key(read_update(update(poll={"id": "p"}))) == ("update", 41)


# --- a webhook body: straight from JSON, or the full path for escapes and refusals ---

_texts = st.text(max_size=20) | st.sampled_from(["a\x00b", "\ud800", "é\x1f", "\\u0041"])
_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _texts
_users = st.fixed_dictionaries(
    {"id": st.integers(), "is_bot": st.booleans(),
     "first_name": _texts | st.sampled_from(["x" * 257, 7])},
    optional={"language_code": _texts, "username": st.text(max_size=10)})
_messages = st.fixed_dictionaries(
    {"message_id": st.integers(-10, 2**53), "date": st.integers(0, 2**31),
     "chat": st.fixed_dictionaries({"id": st.integers(-2**53, 2**53), "type": st.text(max_size=8)})},
    optional={"from": _users, "text": _texts, "sticker": st.dictionaries(
        st.text(max_size=5), _scalars, max_size=2), "entities": st.lists(
        st.fixed_dictionaries({"type": st.text(max_size=10)}), max_size=2)})
_updates = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**52 - 1) | st.sampled_from([-1, 2**52, 1.0, "1", None])},
    optional={"message": _messages, "callback_query": st.fixed_dictionaries(
        {"id": st.text(max_size=10), "from": _users},
        optional={"data": st.text(max_size=70), "message": _messages}),
        "unknown_kind": st.recursive(_scalars, lambda c: st.lists(c, max_size=3), max_leaves=60)})


def _full_path(body: bytes) -> Any:
    try:
        return read_update(storable_strings(load_json(body)))
    except (BadJson, InvalidUpdate) as exc:
        return type(exc), str(exc)


@given(_updates, st.booleans())
def test_a_webhook_body_reads_as_the_full_path_reads_it(data: dict[str, Any], ascii_only: bool
                                                        ) -> None:
    """Texts with NULs and lone surrogates, wrong types, out-of-range ids and deep unknown
    fields: each body gives the same update, or the same refusal, by either path."""
    body = json.dumps(data, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        got: Any = read_update_body(body)
    except (BadJson, InvalidUpdate) as exc:
        got = type(exc), str(exc)
    assert got == _full_path(body)


def test_a_body_with_escapes_is_repaired_as_before() -> None:
    shape = read_update_body(json.dumps(update(message=message("a\x00b"))).encode())
    assert shape.message is not None and shape.message.text == "a\ufffdb"
    body = json.dumps(update(message=message("a\x00b\ud800c"))).encode()
    shape = read_update_body(body)
    assert shape.message is not None and shape.message.text == "a\ufffdb\ufffdc"
    with pytest.raises(BadJson, match="not valid JSON"):
        read_update_body(b'{"update_id": 1} x')
    with pytest.raises(InvalidUpdate, match="^update_id: Input should be a valid integer"):
        read_update_body(b'{"update_id": 1.0}')

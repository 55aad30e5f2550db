"""The button payload codec, and the types that keep a typo from passing silently."""

from __future__ import annotations

from typing import get_args, get_type_hints

from hypothesis import given
from hypothesis import strategies as st

from conversations import payloads
from conversations.exchange import Event
from conversations.state import ConversationState, StateChanges
from conversations.vocabulary import EventType
from tests.transcripts import Transcript

IDS = st.from_regex(r"[a-z0-9][a-z0-9_]{0,31}", fullmatch=True)
# A script whose question and option ids are too long together is refused at load
# (tests/test_loader.py): only pairs that fit reach a button.
PAIRS_THAT_FIT = st.tuples(IDS, IDS).filter(lambda ids: len(ids[0]) + len(ids[1]) <= 61)
PAYLOADS = st.one_of(
    PAIRS_THAT_FIT.map(lambda ids: payloads.PickOption(*ids)),
    st.builds(payloads.SkipQuestion, IDS),
    st.builds(payloads.NoneOfThese, IDS),
    st.builds(payloads.Engage, IDS),
    st.builds(payloads.ConfirmForget, st.booleans()),
    st.builds(payloads.PickLanguage, st.sampled_from(["en", "fr"])),
)


@given(PAYLOADS)
def test_every_payload_survives_the_round_trip_within_telegrams_64_bytes(
    payload: payloads.Payload,
) -> None:
    token = payloads.encode(payload)
    assert payloads.decode(token) == payload
    assert len(token.encode()) <= 64


@given(st.text(max_size=70))
def test_any_other_token_decodes_to_unknown_or_to_a_payload_that_encodes_back(token: str) -> None:
    decoded = payloads.decode(token)
    if not isinstance(decoded, payloads.Unknown):
        assert payloads.encode(decoded) == token


def test_malformed_tokens_are_unknown() -> None:
    for token in ("", "a", "a:", "a:sector", "a:sector:", "a::x", "a:s:o:x", "f:maybe", "x:1",
                  "s:a:b", "n:"):
        assert isinstance(payloads.decode(token), payloads.Unknown), token


def test_the_engine_reads_the_buttons_it_writes() -> None:
    t = Transcript()
    replies = t.say("/start")
    tokens = [c.token for r in replies for c in r.choices]
    assert tokens and all(isinstance(payloads.decode(x), payloads.PickOption) for x in tokens)
    t.tap_token(payloads.answer("sector", "software"))
    assert t.state.answers["sector"].option_id == "software"


def test_state_changes_name_exactly_the_states_fields_with_their_types() -> None:
    fields = get_type_hints(ConversationState)
    fields.pop("model_config", None)
    assert get_type_hints(StateChanges) == fields


def test_every_engine_event_type_is_in_the_stored_vocabulary() -> None:
    stored = set(get_args(EventType))
    for event in get_args(Event):
        assert event.__dataclass_fields__["type"].default in stored, event

"""JSON text through orjson gives back exactly what the standard library's json would."""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import json_text

# Any JSON value json can write, lone surrogates and integers beyond 64 bits included.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_a_value_comes_back_as_json_reads_it(value: Any) -> None:
    for text in (json_text.dumps(value), json_text.dump_bytes(value)):
        assert json_text.loads(text) == json.loads(text) == value


@given(json_values)
def test_what_json_wrote_is_read_as_json_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert json_text.loads(text) == json.loads(text)
    assert json_text.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("text, expected", [
    ('{"id": 123456789012345678901234567890}', {"id": 123456789012345678901234567890}),
    ('[9223372036854775808, -9223372036854775809]', [2**63, -(2**63) - 1]),
    ('{"a": "\\ud800"}', {"a": "\ud800"}),  # an escaped lone surrogate
    ('{"a": "\\u0000"}', {"a": "\x00"}),
    ("[NaN, Infinity, 1e400]", None),
])
def test_where_orjson_would_differ_json_reads_it(text: str, expected: Any) -> None:
    value = json_text.loads(text)
    if expected is None:
        assert all(math.isnan(v) or math.isinf(v) for v in value)
    else:
        assert value == expected
        assert type(value) is type(expected)
        if isinstance(value, list):
            assert all(type(v) is int for v in value)


def test_values_orjson_refuses_are_written_by_json() -> None:
    assert json.loads(json_text.dumps({1: "a", 2**70: None})) == {"1": "a", str(2**70): None}
    assert json.loads(json_text.dumps("\ud800")) == "\ud800"
    body = json_text.dump_bytes({"text": "\ud800"})
    assert body.isascii()  # a lone surrogate has no UTF-8 form: it goes escaped
    assert json.loads(body) == {"text": "\ud800"}


def test_datetimes_and_str_subclasses_behave_as_with_json() -> None:
    with pytest.raises(TypeError):
        json_text.dumps({"at": datetime.now(UTC)})
    with pytest.raises(TypeError):
        json_text.dump_bytes({"at": datetime.now(UTC)})

    class Stage(str, enum.Enum):
        SQL = "sql"

    assert json_text.loads(json_text.dumps({"stage": Stage.SQL})) == {"stage": "sql"}


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "[1, 2", "nope", b"\xff"])
def test_not_json_raises_value_error(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        json_text.loads(text)


def test_bodies_are_compact_utf8() -> None:
    assert json_text.dump_bytes({"text": "Café ✓", "n": [1, 2]}) == (
        '{"text":"Café ✓","n":[1,2]}'.encode())

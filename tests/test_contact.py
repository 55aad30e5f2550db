"""conversations.contact: email addresses, phone numbers and "skip"."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.contact import is_skip, parse_email, parse_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM ", "Ada.Lovelace@example.com"),  # domain lowercased only
        ("marie+leads@sub.example.fr", "marie+leads@sub.example.fr"),
        ("my email is bob@test.fr, thanks", "bob@test.fr"),
        ("<x@y.io>", "x@y.io"),
        ("mailto:ada@example.com", "ada@example.com"),
        ("ada@example.com.", "ada@example.com"),
        ("ada@café.fr", "ada@café.fr"),
        ("ada@xn--caf-dma.fr", "ada@xn--caf-dma.fr"),
    ],
)
def test_parse_email(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "ada", "ada@", "@example.com", "a@b", "a@b.c", "ada@@example.com", "ada..x@ex.com",
     ".ada@ex.com", "ada@exa_mple.com", "ada@-ex.com", "ada@ex-.com", "ada@ex..com",
     "ada@ex.c0m", "x@y.com z@w.com", "'; DROP TABLE leads;--@x.com", "\u202eada@ex.com",
     "a" * 65 + "@ex.com", "ada@" + "a" * 64 + ".com", "ada@example.com" + " x" * 600],
)
def test_parse_email_refuses(text: str) -> None:
    assert parse_email(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("(555) 123-4567", "5551234567"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),  # the trunk zero is not dialled
        ("0033 6 12 34 56 78", "+33612345678"),  # the international prefix, written out
        ("555-1234", "5551234"),
    ],
)
def test_parse_phone(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "+", "123", "123456", "1234567890123456", "call me", "06 12 34 56 78 ext 12",
     "++33 6 12 34 56 78", "(555 123-4567", "0612345678 0612345678", "6" * 200,
     "١٢٣٤٥٦٧٨", "+33 6 12 34 56 78\x00"],
)
def test_parse_phone_refuses(text: str) -> None:
    assert parse_phone(text) is None


@pytest.mark.parametrize(
    "text", ["skip", "Skip", " SKIP ", "no", "Non", "non merci", "passer", "pass", "rather not",
             "I'd rather not", "-", "—", "no thanks", "n/a"],
)
def test_is_skip(text: str) -> None:
    assert is_skip(text)


@pytest.mark.parametrize(
    "text", ["yes", "06 12 34 56 78", "ada@example.com", "", "nothing to skip here"])
def test_is_not_skip(text: str) -> None:
    assert not is_skip(text)


@given(st.text(max_size=300))
def test_contact_parsers_never_raise(text: str) -> None:
    email = parse_email(text)
    if email is not None:
        local, _, domain = email.rpartition("@")
        assert local and domain == domain.lower() and " " not in email
    phone = parse_phone(text)
    if phone is not None:
        assert re.fullmatch(r"\+?[0-9]{7,15}", phone)
    is_skip(text)


@given(st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True), st.booleans(),
       st.sampled_from([" ", "-", ".", ""]))
def test_a_formatted_phone_number_round_trips(digits: str, plus: bool, separator: str) -> None:
    grouped = separator.join(digits[i:i + 2] for i in range(0, len(digits), 2))
    expected = f"+{digits}" if plus else digits
    assert parse_phone(("+" if plus else "") + grouped) == expected

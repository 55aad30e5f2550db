"""conversations.textnorm: one canonical form for comparing and parsing typed text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.textnorm import Normalised, _clean_char, clean, fold, normalise


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Éditeur de LOGICIELS  ", "editeur de logiciels"),
        ("l’assurance", "l assurance"),
        ("“SaaS”, B2B!", "saas b2b"),
        ("e-commerce", "e commerce"),
        ("Straße", "strasse"),
        ("cœur ŒUVRE", "coeur oeuvre"),
        ("hôpitaux\u00a0privés", "hopitaux prives"),
        ("ﬁnance", "finance"),  # a typographic ligature
        ("\u202eretail\u200f", "retail"),  # bidi override and mark
        ("bank\x00\x07\tloans", "bank loans"),
        ("🏦 bank 🙂👍🏽", "bank"),
        ("❤️", ""),
        ("", ""),
        ("   \n\t ", ""),
        ("İstanbul", "istanbul"),
    ],
)
def test_fold_examples(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Environ 15\u202fk€ HT ", "environ 15 k€ ht"),
        ("1,200", "1,200"),
        ("100k+", "100k+"),
        ("5–8k", "5-8k"),  # en dash to hyphen
        ("−5", "-5"),  # the minus sign is a hyphen
        ("≈ 40", "~ 40"),
        ("≥ 100 k€", ">= 100 k€"),
        ("l’année", "l'annee"),
        ("d\u200dici", "dici"),  # a zero-width joiner is dropped, not a space
    ],
)
def test_clean_keeps_punctuation_for_the_parsers(text: str, expected: str) -> None:
    assert clean(text) == expected


def test_right_to_left_letters_are_kept_as_letters() -> None:
    assert fold("שלום עולם") == "שלום עולם"
    assert fold("مرحبا!") == "مرحبا"


def test_lone_surrogates_do_not_raise() -> None:
    assert fold("bank\ud800") == "bank"


def test_long_text_is_linear() -> None:
    assert fold("ab " * 10_000) == " ".join(["ab"] * 10_000)
    assert fold("é" * 10_000) == "e" * 10_000


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text())
def test_clean_is_idempotent(text: str) -> None:
    once = clean(text)
    assert clean(once) == once


@given(st.text())
def test_fold_gives_single_spaced_letters_and_digits(text: str) -> None:
    folded = fold(text)
    assert folded == folded.strip()
    assert "  " not in folded
    assert all(c.isalnum() or c == " " for c in folded)
    assert folded == folded.lower() or not folded.isascii()


@given(st.text(alphabet=st.characters(codec="ascii")))
def test_ascii_fast_path_agrees_with_the_general_path(text: str) -> None:
    # Appending a non-ASCII letter that folds to nothing forces the slow path.
    assert fold(text + "\u0301") == fold(text)
    assert clean(text + "\u0301") == clean(text)


@given(st.text())
def test_the_character_table_agrees_with_the_character_rule(text: str) -> None:
    # clean() maps characters through a lazily filled table; the rule it caches decides.
    # The combining accent forces the general path even on ASCII text.
    text += "\u0301"
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    assert clean(text) == " ".join("".join(map(_clean_char, decomposed)).split())


@given(st.text())
def test_normalise_holds_both_forms(text: str) -> None:
    assert normalise(text) == Normalised(text, clean(text), fold(text))

"""Text normalisation for free-text answers: one canonical form to compare and parse.

Two levels, both pure and safe on any input (emoji, right-to-left text, control
characters, bidi overrides, unpaired surrogates):

* :func:`clean` lowercases, strips accents, drops invisible and pictographic
  characters and collapses whitespace, but keeps punctuation and symbols
  (``1,200``, ``15 k€``, ``100k+``, ``5-8k``) because the quantity parsers need them;
* :func:`fold` is :func:`clean` with every character that is not a letter or a
  digit turned into a space: the form synonyms and labels are compared in.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

__all__ = ["Normalised", "clean", "fold", "fold_cleaned", "normalise"]

# Typographic variants that people (and phone keyboards) type for plain ASCII.
_TYPOGRAPHY: Final[dict[str, str]] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00b4": "'", "\u0060": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
    "\u2248": "~", "\u2264": "<=", "\u2265": ">=", "\u00b1": "+/-",
    # Letters NFKD does not decompose but French and Nordic words use.
    "\u0153": "oe", "\u00e6": "ae", "\u00f8": "o", "\u0142": "l", "\u0111": "d",
}

# Unicode categories dropped outright: format characters (bidi marks, zero-width
# joiners), combining marks (accents once decomposed, emoji variation selectors),
# other/modifier symbols (emoji, dingbats), private use, surrogates, unassigned.
_DROPPED_CATEGORIES: Final = frozenset({"Cf", "Mn", "Me", "So", "Sk", "Co", "Cs", "Cn"})

# ASCII control characters become spaces so that "a\tb" stays two words.
_ASCII_TABLE: Final = {code: " " for code in (*range(0x20), 0x7F)}
_ASCII_TABLE[ord("`")] = "'"

# Every ASCII character that is not a letter or a digit, for the fast path of fold.
_ASCII_PUNCTUATION_TABLE: Final = {
    code: " " for code in range(0x80) if not chr(code).isalnum()
}

# Per-character decisions for non-ASCII text, filled lazily and applied by
# str.translate: the alphabet people type in is small, so the table stays small
# and the slow path runs at C speed once its characters have been seen.
_CHAR_TABLE_LIMIT: Final = 4096


def _clean_char(char: str) -> str:
    if char in _TYPOGRAPHY:
        return _TYPOGRAPHY[char]
    if char.isascii():
        return char.translate(_ASCII_TABLE)
    category = unicodedata.category(char)
    if category in _DROPPED_CATEGORIES:
        return ""
    if category[0] in "CZ":  # other controls and every kind of space
        return " "
    return char


class _CharTable(dict[int, str]):
    """Code point → its cleaned form, for str.translate; decides unseen ones on lookup."""

    def __missing__(self, code: int) -> str:
        result = _clean_char(chr(code))
        if len(self) < _CHAR_TABLE_LIMIT:
            self[code] = result
        return result


_CHAR_TABLE: Final = _CharTable()


def clean(text: str) -> str:
    """Lowercased, accent-free, single-spaced text that keeps its punctuation.

    >>> clean("  Environ 15\u202fk€ HT ")
    'environ 15 k€ ht'
    """
    if text.isascii():
        return " ".join(text.translate(_ASCII_TABLE).lower().split())
    # Decompose, casefold, decompose again: compatibility forms may decompose to
    # capitals ("㎁" → "nA") and casefolding may yield new combining marks
    # ("İ" → "i" + a dot we drop); both passes keep fold() idempotent.
    decomposed = unicodedata.normalize(
        "NFKD", unicodedata.normalize("NFKD", text).casefold()
    )
    return " ".join(decomposed.translate(_CHAR_TABLE).split())


def fold(text: str) -> str:
    """The comparison form: :func:`clean` with punctuation and symbols as spaces.

    >>> fold("Éditeur de logiciels — l’assurance !")
    'editeur de logiciels l assurance'
    """
    return fold_cleaned(clean(text))


def fold_cleaned(cleaned: str) -> str:
    """:func:`fold` of a text already cleaned: ``fold(t) == fold_cleaned(clean(t))``."""
    if cleaned.isascii():
        return " ".join(cleaned.translate(_ASCII_PUNCTUATION_TABLE).split())
    return " ".join("".join(c if c.isalnum() else " " for c in cleaned).split())


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text with its :func:`clean` and :func:`fold` forms, computed once for every reader."""

    text: str
    cleaned: str
    folded: str


def normalise(text: str) -> Normalised:
    """`text` with both comparison forms: what the matcher and the parsers read."""
    cleaned = clean(text)
    return Normalised(text, cleaned, fold_cleaned(cleaned))

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
from typing import Final

__all__ = ["clean", "fold"]

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

# Per-character decisions for non-ASCII text, filled lazily: the alphabet people
# type in is small, so the cache stays small and the slow path gets fast.
_CHAR_CACHE: dict[str, str] = {}
_CHAR_CACHE_LIMIT: Final = 4096


def _clean_char(char: str) -> str:
    cached = _CHAR_CACHE.get(char)
    if cached is not None:
        return cached
    if char in _TYPOGRAPHY:
        result = _TYPOGRAPHY[char]
    elif char.isascii():
        result = char.translate(_ASCII_TABLE)
    else:
        category = unicodedata.category(char)
        if category in _DROPPED_CATEGORIES:
            result = ""
        elif category[0] in "CZ":  # other controls and every kind of space
            result = " "
        else:
            result = char
    if len(_CHAR_CACHE) < _CHAR_CACHE_LIMIT:
        _CHAR_CACHE[char] = result
    return result


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
    return " ".join("".join(map(_clean_char, decomposed)).split())


def fold(text: str) -> str:
    """The comparison form: :func:`clean` with punctuation and symbols as spaces.

    >>> fold("Éditeur de logiciels — l’assurance !")
    'editeur de logiciels l assurance'
    """
    cleaned = clean(text)
    if cleaned.isascii():
        return " ".join(cleaned.translate(_ASCII_PUNCTUATION_TABLE).split())
    return " ".join("".join(c if c.isalnum() else " " for c in cleaned).split())

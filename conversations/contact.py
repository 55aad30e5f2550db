"""Contact details typed by prospects: email addresses, phone numbers, and "skip".

Validation is deliberately practical rather than RFC-complete: it accepts what
people really type (an address inside a sentence, "(555) 123-4567",
"+33 (0)6 12 34 56 78") and refuses what sales could not use.
"""

from __future__ import annotations

import re
from typing import Final

from conversations.textnorm import fold

__all__ = ["is_skip", "parse_email", "parse_phone"]

_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE: Final = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")  # dot-separated, no quoted forms
_LABEL_RE: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD_RE: Final = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Punctuation people put around an address: "<ada@example.com>", "(ada@example.com).";
# a leading dot is not stripped: ".ada@…" is an invalid address, not punctuation.
_OPENERS: Final = "<([{\"'"
_CLOSERS: Final = ">)]}\"',;:.!?"


def _domain(text: str) -> str | None:
    """The lowercased domain if it is a valid host name; "café.fr" is checked in its ASCII form."""
    domain = text.lower()
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2:
        return None
    if not all(_LABEL_RE.match(label) for label in labels) or not _TLD_RE.match(labels[-1]):
        return None
    return domain


def parse_email(text: str) -> str | None:
    """The email address in `text`, local part as typed and domain lowercased; else None.

    >>> parse_email("  mailto:Ada@Example.COM ")
    'Ada@example.com'
    """
    if len(text) > 1000:
        return None
    candidates = [word for word in text.split() if "@" in word]
    if len(candidates) != 1:
        return None  # none, or several: ask again rather than guess
    address = candidates[0].lstrip(_OPENERS).rstrip(_CLOSERS)
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:"):]
    local, at, domain_text = address.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL_RE.match(local):
        return None
    domain = _domain(domain_text)
    if domain is None or len(local) + 1 + len(domain) > 254:
        return None
    return f"{local}@{domain}"


_PHONE_CHARS_RE: Final = re.compile(r"^\+?[0-9 ().\-/]+$")
_TRUNK_ZERO_RE: Final = re.compile(r"^(\+\d{1,3})\s*\(0\)")  # "+33 (0)6…" dials as "+336…"


def parse_phone(text: str) -> str | None:
    """A phone number as ``+`` (if given) and 7 to 15 digits; else None.

    >>> parse_phone("+33 6 12 34 56 78"), parse_phone("(555) 123-4567")
    ('+33612345678', '5551234567')
    """
    if len(text) > 100:
        return None
    number = _TRUNK_ZERO_RE.sub(r"\1", text.strip())
    if not _PHONE_CHARS_RE.match(number):
        return None  # letters, extensions, several numbers: not one callable number
    if number.count("(") != number.count(")") or number.count("+") > 1:
        return None
    digits = "".join(c for c in number if c.isdigit())
    plus = number.startswith("+")
    if not plus and digits.startswith("00"):  # the international prefix, written out
        digits, plus = digits[2:], True
    if not 7 <= len(digits) <= 15:
        return None
    return f"+{digits}" if plus else digits


_SKIP_WORDS: Final = frozenset({
    "skip", "skip it", "skip this", "pass", "no", "nope", "no thanks", "no thank you",
    "rather not", "i d rather not", "i would rather not", "prefer not", "i prefer not",
    "prefer not to say", "not now", "none", "n a", "na", "no phone",
    "non", "non merci", "passer", "je passe", "passe", "plutot pas", "je prefere pas",
    "je prefere ne pas", "pas de telephone", "pas de numero", "aucun",
})


def is_skip(text: str) -> bool:
    """Whether the prospect declines an optional question ("skip", "non", "-", "rather not")."""
    stripped = text.strip()
    if stripped in ("-", "--", "—", "–", ".", "/skip"):
        return True
    return len(stripped) <= 40 and fold(stripped) in _SKIP_WORDS

"""The button payload codec: what a button carries (`a:q:o`, `s:q`, `n:q`, `e:x`, `f:yes`, `l:fr`).

The engine puts a short token on every button it shows and reads it back when the
button is tapped (Telegram caps it at 64 bytes). Encoding and decoding live here
only, so the format is written once and a token that is not ours decodes to
:class:`Unknown` instead of being half-understood.
"""

from __future__ import annotations

from dataclasses import dataclass

# Telegram's limit on a button's callback_data; a script whose ids would exceed it is
# refused when it is loaded (`conversations.validation`).
MAX_TOKEN_BYTES = 64


@dataclass(frozen=True, slots=True)
class PickOption:
    """`a:<question>:<option>` — an option of a question (or of a "did you mean…?")."""

    question_id: str
    option_id: str


@dataclass(frozen=True, slots=True)
class SkipQuestion:
    """`s:<question>` — skip an optional question."""

    question_id: str


@dataclass(frozen=True, slots=True)
class NoneOfThese:
    """`n:<question>` — none of the suggested options: show the question's buttons."""

    question_id: str


@dataclass(frozen=True, slots=True)
class Engage:
    """`e:<action>` — an engagement action offered by a follow-up."""

    action_id: str


@dataclass(frozen=True, slots=True)
class ConfirmForget:
    """`f:yes` / `f:no` — the answer to "erase my data?"."""

    confirmed: bool


@dataclass(frozen=True, slots=True)
class PickLanguage:
    """`l:<lang>` — switch the conversation's language."""

    lang: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A token none of our buttons carries (stale format, forged, truncated)."""

    token: str


Payload = (
    PickOption | SkipQuestion | NoneOfThese | Engage | ConfirmForget | PickLanguage | Unknown
)


def answer(question_id: str, option_id: str) -> str:
    return f"a:{question_id}:{option_id}"


def skip(question_id: str) -> str:
    return f"s:{question_id}"


def none_of_these(question_id: str) -> str:
    return f"n:{question_id}"


def engage(action_id: str) -> str:
    return f"e:{action_id}"


def forget(confirmed: bool) -> str:
    return "f:yes" if confirmed else "f:no"


def language(lang: str) -> str:
    return f"l:{lang}"


def encode(payload: Payload) -> str:
    """The token for a payload (the inverse of :func:`decode`)."""
    match payload:
        case PickOption(question_id, option_id):
            return answer(question_id, option_id)
        case SkipQuestion(question_id):
            return skip(question_id)
        case NoneOfThese(question_id):
            return none_of_these(question_id)
        case Engage(action_id):
            return engage(action_id)
        case ConfirmForget(confirmed):
            return forget(confirmed)
        case PickLanguage(lang):
            return language(lang)
        case Unknown(token):
            return token


def decode(token: str) -> Payload:
    """What a tapped button asks for; :class:`Unknown` for anything malformed."""
    kind, sep, rest = token.partition(":")
    if not sep or not rest:
        return Unknown(token)
    if kind == "a":
        question_id, sep, option_id = rest.partition(":")
        if sep and question_id and option_id and ":" not in option_id:
            return PickOption(question_id, option_id)
        return Unknown(token)
    if ":" in rest:
        return Unknown(token)
    if kind == "s":
        return SkipQuestion(rest)
    if kind == "n":
        return NoneOfThese(rest)
    if kind == "e":
        return Engage(rest)
    if kind == "f" and rest in ("yes", "no"):
        return ConfirmForget(rest == "yes")
    if kind == "l":
        return PickLanguage(rest)
    return Unknown(token)


def is_none_of_these(token: str) -> bool:
    """Whether a button is the "none of these" of a "did you mean…?" question."""
    return isinstance(decode(token), NoneOfThese)

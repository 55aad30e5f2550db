"""Untrusted JSON request bodies: decode them safely, bound their nesting, make their strings storable.

Every HTTP endpoint that takes JSON (the Telegram webhook, the events API, the
Slack endpoint) goes through :func:`load_json`, so the same hostile bodies meet
the same answer everywhere: bytes that are not UTF-8 JSON, or a structure nested
deeper than any genuine payload (which would otherwise end in a RecursionError
somewhere down the line), raise :class:`BadJson` with a one-line reason.

:func:`storable_strings` makes every string of a decoded value safe for both
databases: PostgreSQL refuses NUL characters in text, and neither driver can
encode a lone UTF-16 surrogate (`"\\ud800"` is valid JSON). Both become U+FFFD,
the replacement character, so a prospect's message is kept rather than lost.
"""

from __future__ import annotations

import json
from typing import Any

# Telegram updates nest about a dozen levels (a reply to a message with a keyboard);
# Slack payloads a little more. Nothing genuine comes near this.
MAX_DEPTH = 48
REPLACEMENT = "\ufffd"


class BadJson(ValueError):
    """The body is not acceptable JSON; the message says why in one line."""


def load_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value, or BadJson (not UTF-8, not JSON, or nested too deeply)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("the body is not UTF-8 text") from None
    # Checked before parsing: json.loads recurses once per level in C and a
    # 100,000-level body would end in a RecursionError.
    brackets = text.count("[") + text.count("{")
    if brackets > max_depth and nesting_depth(text) > max_depth:
        raise BadJson(f"the body is nested too deeply (more than {max_depth} levels)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJson(f"the body is not valid JSON ({exc.msg} at line {exc.lineno} "
                      f"column {exc.colno})") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise BadJson("the body is nested too deeply") from None


def nesting_depth(text: str) -> int:
    """The deepest `[`/`{` nesting of a JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def storable_text(text: str) -> str:
    """`text` with NUL characters and lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def storable_strings(value: Any) -> Any:
    """A copy of a decoded JSON value whose strings (keys too) are all :func:`storable_text`."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        return [storable_strings(item) for item in value]
    if isinstance(value, dict):
        return {storable_text(key): storable_strings(item) for key, item in value.items()}
    return value


def has_unstorable_text(text: str) -> bool:
    """True when `text` holds a NUL or a lone surrogate (for fields that are refused, not repaired)."""
    return storable_text(text) != text

"""JSON text for the database's JSON columns and the Bot API calls, through orjson.

Every message reads and writes JSON several times (the outbox payloads of a chat's
latest deliveries, the reply queued, the Bot API call and its answer); the standard
library's `json` spends 2–10 times orjson's CPU on each. The values are the same
either way; the text differs only in spacing and escapes, which nothing compares.

Where orjson would differ from `json`, the standard library does the work, so the
result is what it always was:
- dumping: orjson refuses keys that are not strings, integers beyond 64 bits and
  strings with lone surrogates (`json` accepts them); datetimes, dataclasses and
  subclasses of built-in types are handed back to `json`, which refuses or converts
  them as before;
- loading: orjson turns an integer of 19 digits or more into a float and refuses
  escaped lone surrogates, NaN and infinities; such texts are read by `json`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_HANDED_BACK = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                | orjson.OPT_PASSTHROUGH_SUBCLASS)
_LONG_NUMBER = re.compile(r"\d{19}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{19}")


def dump_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, option=_HANDED_BACK)
    except TypeError:  # orjson.JSONEncodeError is one
        # Escaped to ASCII: a lone surrogate has no UTF-8 form.
        return json.dumps(value, separators=(",", ":")).encode()


def dumps(value: Any) -> str:
    """`value` as JSON text (for a JSON column)."""
    try:
        return orjson.dumps(value, option=_HANDED_BACK).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """The value of a JSON text; raises ValueError when it is not JSON."""
    long_number = (_LONG_NUMBER_BYTES.search(text) if isinstance(text, bytes)
                   else _LONG_NUMBER.search(text))
    if long_number is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)

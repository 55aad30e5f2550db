"""Process logging for `serve`, `worker` and `run`: plain text or one JSON object per line.

`LOG_FORMAT=json` gives machine-readable lines for a log shipper; `text` (the
default) reads well in a terminal. Either way the logs never carry secrets: bot
tokens appear in every Bot API URL that httpx logs, so those loggers are quietened
and a filter scrubs anything shaped like a Telegram or Slack token from every
record. Message bodies are the service's business; the modules that could log
them do so only at DEBUG.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# `123456:ABC-def…` (Telegram), `xoxb-…` / `xapp-…` (Slack), `Bearer …` headers.
_SECRET_PATTERNS = (
    re.compile(r"\d{3,}:[A-Za-z0-9_-]{3,}"),
    re.compile(r"xox[abpors]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/-]+=*"),
)
# Libraries that log a full request URL (with the bot token in it) at INFO.
_CHATTY = ("httpx", "httpcore", "telegram.ext.Application", "apscheduler", "aiohttp.access")
# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    """Render the message once, scrub tokens from it, and keep the scrubbed text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(message)
        if scrubbed != message or record.args:
            record.msg, record.args = scrubbed, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Newlines and other control characters as visible escapes (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class TextFormatter(logging.Formatter):
    """The classic one-line format; tracebacks are scrubbed too.

    A message is one line whatever it quotes: a newline in an outside value (a
    prospect's text, a header) would otherwise let it write a forged log line.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        safe = logging.makeLogRecord(vars(record))
        safe.message = escape_controls(record.message)
        return super().formatMessage(safe)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(*, level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Replace the root handlers with one that writes `fmt` lines ("json" or "text")."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets())
    if fmt.lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_level(level))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn configures its own handlers unless told not to; route it through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper())
    return value if isinstance(value, int) else logging.INFO

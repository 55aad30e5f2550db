"""The Slack alert's Block Kit, drawn as safe HTML for the preview: what sales would see.

The blocks come from :func:`bot.slack.alert.alert_blocks`, the function that builds
the real message, so the preview cannot drift from Slack. Here they are only
translated: Slack's mrkdwn (`*bold*`, `&lt;` escapes, `<@U…>` mentions, `<!date…|text>`)
becomes escaped HTML; whatever a prospect typed ends up as text, never markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from bot.slack.alert import AlertCard, alert_blocks

_SPECIAL = re.compile(r"<(?P<body>[@#!][^<>]*)>")
_BOLD = re.compile(r"\*(?P<text>[^*\n]+)\*")


@dataclass(frozen=True, slots=True)
class CardView:
    """The card as HTML pieces, every one already escaped."""

    header: Markup
    fields: tuple[Markup, ...]
    sections: tuple[Markup, ...]
    context: tuple[Markup, ...]
    buttons: tuple[str, ...]


def mrkdwn_to_html(text: str) -> Markup:
    """Slack mrkdwn as HTML: escaped text, bold and line breaks kept, links as their label."""
    def special(match: re.Match[str]) -> str:
        body = match.group("body")
        if "|" in body:
            return body.split("|", 1)[1]
        return body.lstrip("!")

    plain = _SPECIAL.sub(special, text)
    plain = html.unescape(plain)  # Slack's &amp; &lt; &gt; back to characters…
    escaped = str(escape(plain))  # …then escaped for HTML, once
    bolded = _BOLD.sub(lambda m: f"<strong>{m.group('text')}</strong>", escaped)
    return Markup(bolded.replace("\n", "<br>"))


def _texts(elements: list[dict[str, Any]]) -> tuple[Markup, ...]:
    return tuple(mrkdwn_to_html(str(element.get("text", ""))) for element in elements)


def card_view(card: AlertCard) -> CardView:
    header = Markup("")
    fields: tuple[Markup, ...] = ()
    sections: list[Markup] = []
    context: list[Markup] = []
    buttons: list[str] = []
    for block in alert_blocks(card):
        kind = block["type"]
        if kind == "header":
            header = escape(str(block["text"]["text"]))  # plain_text: no mrkdwn
        elif kind == "section" and "fields" in block:
            fields = _texts(block["fields"])
        elif kind == "section":
            sections.append(mrkdwn_to_html(str(block["text"]["text"])))
        elif kind == "context":
            context.extend(_texts(block["elements"]))
        elif kind == "actions":
            for element in block["elements"]:
                label = element.get("text") or element.get("placeholder") or {}
                buttons.append(str(label.get("text", "")))
    return CardView(header=header, fields=fields, sections=tuple(sections),
                    context=tuple(context), buttons=tuple(buttons))

"""The qualified-lead alert: a plain card value rendered as Block Kit, fallback text or terminal text.

Pure functions only: :func:`alert_blocks` and friends take an :class:`AlertCard`
(built from database rows by :mod:`bot.slack.card_source`) and return values, so
the card is tested without Slack or a database. Every text a prospect typed is
escaped for mrkdwn and every field is clipped to Block Kit's limits (50 blocks,
3000 characters a section, 10 fields, 2000 a field, 75 a button, 150 a header).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.slack.card_texts import EN, CardTexts, card_texts
from conversations.vocabulary import Stage, Temperature

Block = dict[str, Any]

ACTION_CLAIM = "leadbot_claim"
ACTION_DISQUALIFY = "leadbot_disqualify"
ACTION_TRANSCRIPT = "leadbot_transcript"

# (code, label): what a rep can pick when disqualifying. Codes are stored in events;
# labels follow the card's language (bot.slack.card_texts).
DISQUALIFY_REASONS: tuple[tuple[str, str], ...] = tuple(EN.reasons.items())

SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
BUTTON_MAX = 75
FIELDS_MAX = 10
BLOCKS_MAX = 50
MAX_REASONS = 10  # "Why" lists every reason up to this many, else the top ones and "+N more"

TEMPERATURE_ICON = {"hot": "🔥", "warm": "🌤", "cold": "❄️"}


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """One answer: the question's short label, the prospect's words, the option they matched."""

    question: str
    words: str
    matched: str | None = None


@dataclass(frozen=True, slots=True)
class AlertCard:
    lead_id: int
    stage: Stage
    name: str | None = None
    first_name: str | None = None
    username: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    role: str | None = None
    source: str | None = None
    score: int = 0
    fit: int = 0
    intent: int = 0
    temperature: Temperature = "cold"
    reasons: tuple[str, ...] = ()
    answers: tuple[AnswerLine, ...] = ()
    first_message_at: datetime | None = None
    qualified_at: datetime | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    disqualified_reason: str | None = None
    disqualified_by: str | None = None
    rep_id: str | None = None  # the rep mentioned by the route's rotation
    meeting_booked_at: datetime | None = None  # a booking confirmation came in (/api/events)
    claimed_at: datetime | None = None  # when the owner claimed it (speed to lead)
    lang: str = "en"  # the sales team's language (the script's `alerts.language`)

    @property
    def texts(self) -> CardTexts:
        return card_texts(self.lang)

    @property
    def display_name(self) -> str:
        return self.name or self.first_name or (f"@{self.username}" if self.username else "") or (
            f"Lead #{self.lead_id}"
        )

    @property
    def is_disqualified(self) -> bool:
        return self.stage == "disqualified"


# --- text helpers -----------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; anything else a prospect types is shown as is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_duration(start: datetime | None, end: datetime | None, lang: str = "en") -> str | None:
    """"4 min", "2 h 05 min", "3 days": how long qualification took."""
    if start is None or end is None:
        return None
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return card_texts(lang).days.format(days=hours // 24)


def slack_date(moment: datetime, lang: str = "en") -> str:
    """A date Slack shows in each reader's own time zone (UTC text for old clients)."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{card_texts(lang).date_format}|{fallback}>"


def why_lines(reasons: tuple[str, ...], limit: int = MAX_REASONS, lang: str = "en") -> list[str]:
    """Every reason (biggest effect first), or the top ones and "+N more" — never a silent cut."""
    if len(reasons) <= limit:
        return list(reasons)
    shown = list(reasons[: limit - 1])
    return [*shown, card_texts(lang).more.format(count=len(reasons) - len(shown))]


def reason_label(code: str | None, lang: str = "en") -> str:
    texts = card_texts(lang)
    if code is None:
        return texts.no_reason
    return texts.reasons.get(code, code or texts.no_reason)


# --- Block Kit -----------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}


def _contact_lines(card: AlertCard) -> list[str]:
    who = f"*{escape_mrkdwn(card.display_name)}*"
    if card.username and card.name:
        who += f" (@{escape_mrkdwn(card.username)})"
    lines = [who]
    if card.role:
        lines.append(escape_mrkdwn(card.role))
    if card.email:
        lines.append(f"✉️ {escape_mrkdwn(card.email)}")
    if card.phone:
        lines.append(f"📞 {escape_mrkdwn(card.phone)}")
    return lines


def temperature_word(card: AlertCard) -> str:
    return card.texts.temperatures.get(card.temperature, card.temperature)


def _fields(card: AlertCard) -> list[Block]:
    t = card.texts
    temperature = escape_mrkdwn(temperature_word(card))
    fields = [
        (t.contact, "\n".join(_contact_lines(card))),
        (t.company, escape_mrkdwn(card.company) if card.company else "—"),
        (t.score, t.score_detail.format(score=card.score, fit=card.fit, intent=card.intent)),
        (t.temperature, f"{TEMPERATURE_ICON.get(card.temperature, '')} {temperature}".strip()),
        (t.source, escape_mrkdwn(card.source) if card.source else t.direct),
    ]
    took = format_duration(card.first_message_at, card.qualified_at, card.lang)
    if took:
        fields.append((t.qualified_in, took))
    if card.meeting_booked_at is not None:
        fields.append((t.meeting, f"{t.booked_on} {slack_date(card.meeting_booked_at, card.lang)}"))
    return [
        {"type": "mrkdwn", "text": clip(f"*{title}*\n{value}", FIELD_MAX)}
        for title, value in fields[:FIELDS_MAX]
    ]


def _answer_sections(card: AlertCard, budget: int) -> list[Block]:
    """Answers as `• *Sector*: Software & SaaS — “we sell accounting software”`, split to fit."""
    lines = []
    for answer in card.answers:
        words = escape_mrkdwn(clip(answer.words.replace("\n", " "), 300))
        if answer.matched and answer.matched.strip().lower() != answer.words.strip().lower():
            lines.append(f"• *{escape_mrkdwn(answer.question)}*: {escape_mrkdwn(answer.matched)} — “{words}”")
        else:
            lines.append(f"• *{escape_mrkdwn(answer.question)}*: {words}")
    sections: list[Block] = []
    current = f"*{card.texts.answers}*"
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_MAX:
            sections.append(_section(current))
            current = line
        else:
            current += "\n" + line
    if lines:
        sections.append(_section(current))
    return sections[:budget]


def _status_text(card: AlertCard) -> str | None:
    t = card.texts
    if card.is_disqualified:
        by = t.disqualified_by.format(by=f"<@{card.disqualified_by}>") if card.disqualified_by else ""
        reason = escape_mrkdwn(reason_label(card.disqualified_reason, card.lang))
        return f"🚫 {t.fallback_disqualified.capitalize()}{by}: {reason}"
    if card.owner_id:
        after = format_duration(card.qualified_at, card.claimed_at, card.lang)
        return t.claimed_by.format(owner=f"<@{card.owner_id}>") + (
            t.after.format(duration=after) if after else "")
    lines = []
    if card.rep_id:
        lines.append(t.yours_to_call.format(rep=f"<@{card.rep_id}>"))
    if card.qualified_at is not None and not card.is_disqualified:
        lines.append(f"{t.waiting} {waiting_since(card.qualified_at, card.lang)}")
    return "\n".join(lines) or None


def waiting_since(moment: datetime, lang: str = "en") -> str:
    """Slack renders `{ago}` as "12 minutes ago" in each client, so the card ages by itself."""
    t = card_texts(lang)
    fallback = moment.strftime(t.since_fallback)
    return f"<!date^{int(moment.timestamp())}^{t.since}|{fallback}>"


def _actions(card: AlertCard) -> Block | None:
    value = str(card.lead_id)
    elements: list[Block] = []
    if not card.owner_id and not card.is_disqualified:
        elements.append({
            "type": "button", "action_id": ACTION_CLAIM, "style": "primary", "value": value,
            "text": {"type": "plain_text", "text": clip(card.texts.claim, BUTTON_MAX)},
        })
    if not card.is_disqualified:
        elements.append({
            "type": "static_select",
            "action_id": ACTION_DISQUALIFY,
            "placeholder": {"type": "plain_text", "text": card.texts.disqualify},
            "options": [
                {"text": {"type": "plain_text", "text": clip(label, BUTTON_MAX)},
                 "value": f"{value}:{code}"}
                for code, label in card.texts.reasons.items()
            ],
        })
    elements.append({
        "type": "button", "action_id": ACTION_TRANSCRIPT, "value": value,
        "text": {"type": "plain_text", "text": clip(card.texts.show_transcript, BUTTON_MAX)},
    })
    return {"type": "actions", "block_id": f"lead_actions:{card.lead_id}", "elements": elements}


def alert_header(card: AlertCard) -> str:
    icon = TEMPERATURE_ICON.get(card.temperature, "")
    company = f" — {card.company}" if card.company else ""
    t = card.texts
    label = t.qualified_lead if card.stage == "sql" else t.lead_in_stage.format(stage=card.stage)
    return clip(f"{icon} {label}: {card.display_name}{company}".strip(), HEADER_MAX)


def alert_blocks(card: AlertCard, *, interactive: bool = True) -> list[Block]:
    """The alert message's blocks, never more than Slack's 50."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert_header(card), "emoji": True}},
        {"type": "section", "fields": _fields(card)},
    ]
    status = _status_text(card)
    tail: list[Block] = []
    if card.reasons:
        why = "\n".join(f"• {escape_mrkdwn(r)}" for r in why_lines(card.reasons, lang=card.lang))
        tail.append(_section(f"*{card.texts.why}*\n{why}"))
    if status:
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(status, SECTION_MAX)}]})
    actions = _actions(card) if interactive else None
    if actions:
        tail.append(actions)
    budget = BLOCKS_MAX - len(blocks) - len(tail)
    return blocks + _answer_sections(card, budget) + tail


def alert_fallback_text(card: AlertCard) -> str:
    """The notification text (also what screen readers and old clients show).

    Slack reads mrkdwn control sequences here too (`<!channel>`, `<https://…|…>`), so
    everything a prospect typed is escaped, as in the blocks.
    """
    t = card.texts
    company = f" ({escape_mrkdwn(card.company)})" if card.company else ""
    text = (f"{t.qualified_lead}: {escape_mrkdwn(card.display_name)}{company} — "
            f"{t.score.lower()} {card.score}, {escape_mrkdwn(temperature_word(card))}")
    if card.meeting_booked_at is not None:
        text += f" — {t.meeting_booked}"
    if card.is_disqualified:
        reason = escape_mrkdwn(reason_label(card.disqualified_reason, card.lang))
        text += f" — {t.fallback_disqualified}: {reason}"
    elif card.owner_name or card.owner_id:
        text += f" — {t.fallback_claimed} @{escape_mrkdwn(card.owner_name or card.owner_id or '')}"
    return clip(text, 3000)


def render_alert_text(card: AlertCard) -> str:
    """The card as plain terminal text, for `leadbot chat` and logs when Slack is not set up."""
    t = card.texts
    lines = [f"┌ {alert_header(card)}"]
    who = card.display_name + (f" (@{card.username})" if card.username and card.name else "")
    lines.append(f"│ {t.who}: {who}" + (f", {card.role}" if card.role else ""))
    if card.company:
        lines.append(f"│ {t.company}: {card.company}")
    contact = " · ".join(x for x in (card.email, card.phone) if x)
    if contact:
        lines.append(f"│ {t.contact}: {contact}")
    score = t.score_detail.format(score=card.score, fit=card.fit, intent=card.intent)
    lines.append(f"│ {t.score}: {score.replace(' · ', ', ')} · {temperature_word(card)}")
    lines.append(f"│ {t.source}: {card.source or t.direct}")
    took = format_duration(card.first_message_at, card.qualified_at, card.lang)
    if took:
        lines.append(f"│ {t.qualified_in}: {took}")
    if card.meeting_booked_at is not None:
        lines.append(f"│ {t.meeting}: {t.booked_terminal} {card.meeting_booked_at:%Y-%m-%d %H:%M} UTC")
    for answer in card.answers:
        matched = f"{answer.matched} — " if answer.matched else ""
        lines.append(f"│ {answer.question}: {matched}“{answer.words}”")
    for reason in why_lines(card.reasons, lang=card.lang):
        lines.append(f"│ + {reason}")
    if card.rep_id:
        lines.append(f"│ {t.rep}: {card.rep_id}")
    lines.append(f"└ [{t.claim}] [{t.disqualify}] [{t.show_transcript}]")
    return "\n".join(lines)

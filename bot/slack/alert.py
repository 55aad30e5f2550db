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

from conversations.vocabulary import Stage, Temperature

Block = dict[str, Any]

ACTION_CLAIM = "leadbot_claim"
ACTION_DISQUALIFY = "leadbot_disqualify"
ACTION_TRANSCRIPT = "leadbot_transcript"

# (code, label): what a rep can pick when disqualifying. Codes are stored in events.
DISQUALIFY_REASONS: tuple[tuple[str, str], ...] = (
    ("no_budget", "No budget"),
    ("no_timeline", "No timeline / just exploring"),
    ("not_a_fit", "Not a fit for our offer"),
    ("unreachable", "Unreachable"),
    ("competitor", "Competitor or partner"),
    ("spam", "Spam or fake"),
    ("duplicate", "Duplicate lead"),
    ("other", "Other"),
)

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


def format_duration(start: datetime | None, end: datetime | None) -> str | None:
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
    return f"{hours // 24} days"


def slack_date(moment: datetime) -> str:
    """A date Slack shows in each reader's own time zone (UTC text for old clients)."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def why_lines(reasons: tuple[str, ...], limit: int = MAX_REASONS) -> list[str]:
    """Every reason (biggest effect first), or the top ones and "+N more" — never a silent cut."""
    if len(reasons) <= limit:
        return list(reasons)
    shown = list(reasons[: limit - 1])
    return [*shown, f"+{len(reasons) - len(shown)} more"]


def reason_label(code: str | None) -> str:
    for reason_code, label in DISQUALIFY_REASONS:
        if reason_code == code:
            return label
    return code or "no reason given"


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


def _fields(card: AlertCard) -> list[Block]:
    fields = [
        ("Contact", "\n".join(_contact_lines(card))),
        ("Company", escape_mrkdwn(card.company) if card.company else "—"),
        ("Score", f"{card.score} (fit {card.fit} · intent {card.intent})"),
        (
            "Temperature",
            f"{TEMPERATURE_ICON.get(card.temperature, '')} {escape_mrkdwn(card.temperature)}".strip(),
        ),
        ("Source", escape_mrkdwn(card.source) if card.source else "direct"),
    ]
    took = format_duration(card.first_message_at, card.qualified_at)
    if took:
        fields.append(("Qualified in", took))
    if card.meeting_booked_at is not None:
        fields.append(("Meeting", f"📅 Booked {slack_date(card.meeting_booked_at)}"))
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
    current = "*Answers*"
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
    if card.is_disqualified:
        by = f" by <@{card.disqualified_by}>" if card.disqualified_by else ""
        return f"🚫 Disqualified{by}: {escape_mrkdwn(reason_label(card.disqualified_reason))}"
    if card.owner_id:
        after = format_duration(card.qualified_at, card.claimed_at)
        return f"✅ Claimed by <@{card.owner_id}>" + (f" after {after}" if after else "")
    lines = []
    if card.rep_id:
        lines.append(f"👉 <@{card.rep_id}>, this one is yours to call.")
    if card.qualified_at is not None and not card.is_disqualified:
        lines.append(f"⏳ Waiting for an owner {waiting_since(card.qualified_at)}")
    return "\n".join(lines) or None


def waiting_since(moment: datetime) -> str:
    """Slack renders `{ago}` as "12 minutes ago" in each client, so the card ages by itself."""
    fallback = moment.strftime("since %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^since {{ago}}|{fallback}>"


def _actions(card: AlertCard) -> Block | None:
    value = str(card.lead_id)
    elements: list[Block] = []
    if not card.owner_id and not card.is_disqualified:
        elements.append({
            "type": "button", "action_id": ACTION_CLAIM, "style": "primary", "value": value,
            "text": {"type": "plain_text", "text": clip("Claim", BUTTON_MAX)},
        })
    if not card.is_disqualified:
        elements.append({
            "type": "static_select",
            "action_id": ACTION_DISQUALIFY,
            "placeholder": {"type": "plain_text", "text": "Disqualify…"},
            "options": [
                {"text": {"type": "plain_text", "text": clip(label, BUTTON_MAX)},
                 "value": f"{value}:{code}"}
                for code, label in DISQUALIFY_REASONS
            ],
        })
    elements.append({
        "type": "button", "action_id": ACTION_TRANSCRIPT, "value": value,
        "text": {"type": "plain_text", "text": clip("Show transcript", BUTTON_MAX)},
    })
    return {"type": "actions", "block_id": f"lead_actions:{card.lead_id}", "elements": elements}


def alert_header(card: AlertCard) -> str:
    icon = TEMPERATURE_ICON.get(card.temperature, "")
    company = f" — {card.company}" if card.company else ""
    label = "Qualified lead" if card.stage == "sql" else f"Lead ({card.stage})"
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
        why = "\n".join(f"• {escape_mrkdwn(r)}" for r in why_lines(card.reasons))
        tail.append(_section(f"*Why*\n{why}"))
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
    company = f" ({escape_mrkdwn(card.company)})" if card.company else ""
    text = (f"Qualified lead: {escape_mrkdwn(card.display_name)}{company} — score {card.score}, "
            f"{escape_mrkdwn(card.temperature)}")
    if card.meeting_booked_at is not None:
        text += " — meeting booked"
    if card.is_disqualified:
        text += f" — disqualified: {escape_mrkdwn(reason_label(card.disqualified_reason))}"
    elif card.owner_name or card.owner_id:
        text += f" — claimed by @{escape_mrkdwn(card.owner_name or card.owner_id or '')}"
    return clip(text, 3000)


def render_alert_text(card: AlertCard) -> str:
    """The card as plain terminal text, for `leadbot chat` and logs when Slack is not set up."""
    lines = [f"┌ {alert_header(card)}"]
    who = card.display_name + (f" (@{card.username})" if card.username and card.name else "")
    lines.append(f"│ Who: {who}" + (f", {card.role}" if card.role else ""))
    if card.company:
        lines.append(f"│ Company: {card.company}")
    contact = " · ".join(x for x in (card.email, card.phone) if x)
    if contact:
        lines.append(f"│ Contact: {contact}")
    lines.append(
        f"│ Score: {card.score} (fit {card.fit}, intent {card.intent}) · {card.temperature}"
    )
    lines.append(f"│ Source: {card.source or 'direct'}")
    took = format_duration(card.first_message_at, card.qualified_at)
    if took:
        lines.append(f"│ Qualified in: {took}")
    if card.meeting_booked_at is not None:
        lines.append(f"│ Meeting: booked {card.meeting_booked_at:%Y-%m-%d %H:%M} UTC")
    for answer in card.answers:
        matched = f"{answer.matched} — " if answer.matched else ""
        lines.append(f"│ {answer.question}: {matched}“{answer.words}”")
    for reason in why_lines(card.reasons):
        lines.append(f"│ + {reason}")
    if card.rep_id:
        lines.append(f"│ Rep: {card.rep_id}")
    lines.append("└ [Claim] [Disqualify…] [Show transcript]")
    return "\n".join(lines)

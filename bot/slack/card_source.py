"""Reading a lead out of the database into the values Slack renders: the alert card and the transcript.

The only place that knows which rows make a card; :mod:`bot.slack.alert` renders it.
Labels come from the active script, in its alert language (`alerts.language`, the
sales team's), falling back to raw ids when a script was edited after the lead answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.slack.alert import SECTION_MAX, AlertCard, AnswerLine, clip, escape_mrkdwn
from conversations.dsl import Script, options_of
from conversations.engine import BOOKED_ACTION
from storage.models import Answer, Lead
from storage.unit_of_work import UnitOfWork

# The event types this adapter reads and writes (re-exported for the Slack adapter).
from conversations.vocabulary import EVENT_ALERT_POSTED as EVENT_ALERT_POSTED
from conversations.vocabulary import EVENT_CLAIMED as EVENT_CLAIMED
from conversations.vocabulary import EVENT_DISQUALIFIED as EVENT_DISQUALIFIED
from conversations.vocabulary import EVENT_ENGAGEMENT as EVENT_ENGAGEMENT
from conversations.vocabulary import EVENT_MESSAGE_AFTER_FLOW as EVENT_MESSAGE_AFTER_FLOW
from conversations.vocabulary import EVENT_SALES_REPLY as EVENT_SALES_REPLY

# The engagement action a calendar (Cal.com, Calendly…) reports on /api/events once
# the prospect booked: the convention the README documents.
# The signal a calendar sends when a meeting is booked (one name for engine and card).
BOOKING_ACTION = BOOKED_ACTION


def question_label(question_id: str) -> str:
    """`company_size` → "Company size": short enough for a card line."""
    return question_id.replace("_", " ").capitalize()


def option_label(script: Script | None, question_id: str, option_id: str | None) -> str | None:
    if option_id is None:
        return None
    if script is not None:
        try:
            question = script.question(question_id)
        except KeyError:
            return option_id
        for option in options_of(question):
            if option.id == option_id:
                return option.label.get(script.alert_lang, script.lang)
    return option_id


def _contact_questions(script: Script | None) -> frozenset[str]:
    """Questions that fill the card's contact part (`field:`): shown there, not as answers."""
    if script is None:
        return frozenset()
    return frozenset(q.id for q in script.questions if q.field is not None)


def _answer_lines(answers: list[Answer], script: Script | None) -> tuple[AnswerLine, ...]:
    order = {qid: i for i, qid in enumerate(script.question_ids())} if script else {}
    contact = _contact_questions(script)
    ranked = sorted(
        (a for a in answers if a.question_id not in contact),
        key=lambda a: (order.get(a.question_id, len(order)), a.id),
    )
    return tuple(
        AnswerLine(
            question=question_label(a.question_id),
            words=a.raw_text,
            matched=option_label(script, a.question_id, a.option_id),
        )
        for a in ranked
    )


def card_from_rows(
    lead: Lead, answers: list[Answer], script: Script | None, *,
    rep_id: str | None = None, disqualified_by: str | None = None,
    first_message_at: datetime | None = None, meeting_booked_at: datetime | None = None,
    claimed_at: datetime | None = None,
) -> AlertCard:
    return AlertCard(
        lead_id=lead.id,
        stage=lead.stage,
        name=lead.name,
        first_name=lead.first_name,
        username=lead.username,
        company=lead.company,
        email=lead.email,
        phone=lead.phone,
        role=lead.role,
        source=lead.source,
        score=lead.score,
        fit=lead.fit,
        intent=lead.intent,
        temperature=lead.temperature,
        reasons=tuple(str(r) for r in (lead.reasons or [])),
        answers=_answer_lines(answers, script),
        first_message_at=first_message_at or lead.created_at,
        qualified_at=lead.qualified_at,
        owner_id=lead.owner_id,
        owner_name=lead.owner_name,
        disqualified_reason=lead.disqualified_reason,
        disqualified_by=disqualified_by,
        rep_id=rep_id,
        meeting_booked_at=meeting_booked_at,
        claimed_at=claimed_at,
        lang=script.alert_lang if script is not None else "en",
    )


def load_alert_card(
    uow: UnitOfWork, lead_id: int, script: Script | None, *, rep_id: str | None = None
) -> AlertCard | None:
    """The lead's card as it stands now; None when the lead was erased (/forget)."""
    lead = uow.leads.get(lead_id)
    if lead is None:
        return None
    disqualified_by = None
    for event in reversed(uow.events.for_lead(lead_id, types=[EVENT_DISQUALIFIED])):
        disqualified_by = str(event.payload.get("user_id") or "") or None
        break
    claimed = uow.events.for_lead(lead_id, types=[EVENT_CLAIMED]) if lead.owner_id else []
    return card_from_rows(
        lead, uow.answers.current_for(lead_id), script, rep_id=rep_id,
        disqualified_by=disqualified_by, meeting_booked_at=meeting_booked_at(uow, lead_id),
        claimed_at=claimed[-1].created_at if claimed else None,
    )


def meeting_booked_at(uow: UnitOfWork, lead_id: int) -> datetime | None:
    """When the lead's first booking confirmation was recorded, if any."""
    for event in uow.events.for_lead(lead_id, types=[EVENT_ENGAGEMENT]):
        if event.payload.get("action") == BOOKING_ACTION:
            return event.created_at
    return None


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    at: datetime
    who: str
    text: str


def load_transcript(uow: UnitOfWork, lead_id: int, script: Script | None) -> list[TranscriptLine]:
    """What was said, in order: each question asked and answered (corrections included),
    then what the prospect and sales wrote after the flow."""
    lead = uow.leads.get(lead_id)
    if lead is None:
        return []
    lines: list[TranscriptLine] = []
    for answer in uow.answers.all_for(lead_id):
        asked = question_label(answer.question_id)
        if script is not None:
            try:
                asked = script.question(answer.question_id).ask.get(lead.language, script.lang)
            except KeyError:
                pass
        lines.append(TranscriptLine(answer.created_at, "Bot", asked))
        lines.append(TranscriptLine(answer.created_at, "Prospect", answer.raw_text))
    for event in uow.events.for_lead(lead_id, types=[EVENT_MESSAGE_AFTER_FLOW, EVENT_SALES_REPLY]):
        if event.type == EVENT_SALES_REPLY:
            who = f"{event.payload.get('user_name') or 'Sales'} (sales)"
        else:
            who = "Prospect"
        lines.append(TranscriptLine(event.created_at, who, str(event.payload.get("text", ""))))
    lines.sort(key=lambda line: line.at)  # stable: question stays before its answer
    return lines


def render_transcript(lines: list[TranscriptLine]) -> list[str]:
    """mrkdwn chunks under Slack's 3000-character section limit."""
    if not lines:
        return ["_No conversation recorded._"]
    chunks: list[str] = []
    current = "*Transcript*"
    for line in lines:
        text = escape_mrkdwn(clip(line.text.replace("\n", " "), 500))
        entry = f"`{line.at:%H:%M}` *{escape_mrkdwn(line.who)}*: {text}"
        if len(current) + 1 + len(entry) > SECTION_MAX:
            chunks.append(current)
            current = entry
        else:
            current += "\n" + entry
    chunks.append(current)
    return chunks

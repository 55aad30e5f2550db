"""A lead as JSON for outside systems (webhook payloads, CRM): stable ids, never render text."""

from __future__ import annotations

from typing import Any

from bot.slack.card_source import EVENT_CLAIMED, option_label
from conversations.dsl import Script
from storage.unit_of_work import UnitOfWork


def lead_json(uow: UnitOfWork, lead_id: int, script: Script | None) -> dict[str, Any] | None:
    """The lead card: contact, answers, score and why, source, owner; None once erased."""
    lead = uow.leads.get(lead_id)
    if lead is None:
        return None
    claimed = uow.events.for_lead(lead_id, types=[EVENT_CLAIMED]) if lead.owner_id else []
    return {
        "id": lead.id,
        "channel": lead.channel,
        "stage": lead.stage,
        "temperature": lead.temperature,
        "score": lead.score,
        "fit": lead.fit,
        "intent": lead.intent,
        "explanation": [str(reason) for reason in lead.reasons or []],
        "source": lead.source,
        "language": lead.language,
        "contact": {
            "name": lead.name, "first_name": lead.first_name, "last_name": lead.last_name,
            "telegram_username": lead.username, "company": lead.company, "email": lead.email,
            "phone": lead.phone, "role": lead.role,
        },
        "answers": [
            {"question": a.question_id, "text": a.raw_text, "option": a.option_id,
             "option_label": option_label(script, a.question_id, a.option_id),
             "value": a.value_number if a.value_number is not None else a.value_text}
            for a in uow.answers.current_for(lead_id)
        ],
        "owner": {"slack_user_id": lead.owner_id, "name": lead.owner_name} if lead.owner_id else None,
        "disqualified_reason": lead.disqualified_reason,
        "created_at": lead.created_at.isoformat(),
        "qualified_at": lead.qualified_at.isoformat() if lead.qualified_at else None,
        "claimed_at": claimed[-1].created_at.isoformat() if claimed else None,
    }

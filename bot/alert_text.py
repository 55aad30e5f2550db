"""The alert card as plain text, for the terminal when Slack is not configured."""

from __future__ import annotations

from storage.unit_of_work import UnitOfWork


def render_alert_for_terminal(uow: UnitOfWork, lead_id: int) -> str | None:
    lead = uow.leads.get(lead_id)
    if lead is None:
        return None
    answers = uow.answers.current_for(lead_id)
    pending = [m for m in uow.outbox.for_lead(lead_id, kind="slack_alert")]
    channel = pending[0].destination.removeprefix("slack:") if pending else "default"
    who = lead.name or " ".join(filter(None, [lead.first_name, lead.last_name])) or "(no name)"
    lines = [
        "┌─ Slack is not configured: this is the alert sales would get "
        f"(queued for {'SLACK_CHANNEL' if channel == 'default' else channel}) ─",
        f"│ 🔥 New sales-qualified lead: {who}"
        + (f" (@{lead.username})" if lead.username else ""),
    ]
    for label, value in (("Company", lead.company), ("Email", lead.email), ("Phone", lead.phone),
                         ("Source", lead.source)):
        if value:
            lines.append(f"│ {label}: {value}")
    lines.append(
        f"│ Score {lead.score} (fit {lead.fit}, intent {lead.intent}) — {lead.temperature}"
    )
    for answer in answers:
        matched = f" → {answer.option_id}" if answer.option_id else ""
        lines.append(f"│ {answer.question_id}: “{answer.raw_text}”{matched}")
    for reason in (lead.reasons or [])[:3]:
        lines.append(f"│ why: {reason}")
    lines.append("└─ buttons: Claim · Disqualify · Show transcript")
    return "\n".join(lines)

"""The words stored about a lead: its stages, temperatures and the types of its history events.

A leaf module (it imports nothing of ours) so the DSL, the engine, the adapters and
`storage` all spell these the same way; the literals make a misspelling a type error.
"""

from __future__ import annotations

from typing import Final, Literal

Stage = Literal["new", "engaged", "mql", "sql", "disqualified"]
STAGE_ORDER: Final[tuple[Stage, ...]] = ("new", "engaged", "mql", "sql")
Temperature = Literal["cold", "warm", "hot"]

# Every `lead_events.type` value, and who writes it.
EventType = Literal[
    # the service, from the engine's domain events
    "answer_recorded",
    "answer_not_understood",
    "stage_changed",
    "conversation_started",
    "conversation_completed",
    "conversation_stopped",
    "forget_requested",
    "lead_forgotten",
    "message_after_flow",
    "engagement_recorded",
    "nudge_sent",
    # the Slack adapter
    "lead_claimed",
    "lead_disqualified",
    "slack_alert_posted",
    "sales_reply",
    # speed to lead (bot.speed_to_lead)
    "sla_reminder",
    "sla_escalation",
]

EVENT_STAGE_CHANGED: Final = "stage_changed"
EVENT_NOT_UNDERSTOOD: Final = "answer_not_understood"
EVENT_CONVERSATION_STARTED: Final = "conversation_started"
EVENT_CONVERSATION_STOPPED: Final = "conversation_stopped"
EVENT_LEAD_FORGOTTEN: Final = "lead_forgotten"
EVENT_MESSAGE_AFTER_FLOW: Final = "message_after_flow"
EVENT_ENGAGEMENT: Final = "engagement_recorded"  # payload {"action", "via"}
EVENT_CLAIMED: Final = "lead_claimed"
EVENT_DISQUALIFIED: Final = "lead_disqualified"
EVENT_ALERT_POSTED: Final = "slack_alert_posted"
EVENT_SALES_REPLY: Final = "sales_reply"
EVENT_SLA_REMINDER: Final = "sla_reminder"
EVENT_SLA_ESCALATION: Final = "sla_escalation"

"""Meeting bookings on the Slack alert: the service hook that queues one re-render of a posted alert.

A booking confirmation arrives as the engagement action `meeting_booked` (on
`/api/events`). The card reads it from the lead's events (:mod:`bot.slack.card_source`),
so an alert not yet posted simply shows it when it is posted. An alert that may
already be in Slack gets one `slack_alert_update` row on the alert's own destination
(so it is delivered after the alert) and the delivery worker `chat.update`s it.
Nothing here commits: the service's unit of work does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from bot.slack.card_source import BOOKING_ACTION
from bot.slack.threads import UPDATE_KIND, alert_row_id
from conversations.exchange import EngagementRecorded, Event
from storage.models import OutboxMessage
from storage.records import LeadRecord
from storage.unit_of_work import UnitOfWork


def booking_dedupe_key(lead_id: int) -> str:
    return f"alert-update:{lead_id}:{BOOKING_ACTION}"


def queue_booking_update(
    uow: UnitOfWork, lead: LeadRecord, events: Sequence[Event], now: datetime
) -> None:
    """The `after_message` hook: a booked meeting refreshes the lead's alert, once."""
    if not any(isinstance(e, EngagementRecorded) and e.action == BOOKING_ACTION for e in events):
        return
    alert_id = alert_row_id(uow, lead.id)
    if alert_id is None:
        return  # not alerted (yet): a later alert reads the booking from the events
    # Locked (PostgreSQL) so a worker cannot claim the alert between this check and our
    # commit: either it was claimed before, or its card is loaded after the booking.
    alert = uow.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == alert_id).with_for_update()
    ).one()
    if alert.status in ("failed", "cancelled"):
        return
    if alert.status == "pending" and alert.attempts == 0:
        return  # never claimed: its card is rendered at posting time, booking included
    uow.outbox.add(
        kind=UPDATE_KIND, destination=alert.destination, lead_id=lead.id, now=now,
        dedupe_key=booking_dedupe_key(lead.id),
        # The rep the alert mentions, so the re-rendered card still names them.
        payload={"alert_outbox_id": alert.id, "rep": alert.payload.get("rep"),
                 "reason": BOOKING_ACTION},
    )

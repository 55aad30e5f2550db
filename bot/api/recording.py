"""Recording one outside engagement signal: find the lead, run the signal through the service.

Synchronous (the unit of work is): the HTTP handler runs it in a worker thread.
Only `LeadService.record_signal` writes, so a request that names no lead changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.api.event_request import EventRequest, LeadRef
from bot.api.idempotency import claim_key
from bot.service import LeadService
from conversations.vocabulary import Stage, Temperature
from storage.models import Lead
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Recorded:
    lead_id: int
    stage: Stage
    score: int
    temperature: Temperature
    duplicate: bool


def find_lead(uow: UnitOfWork, ref: LeadRef) -> Lead | None:
    if ref.id is not None:
        return uow.leads.get(ref.id)
    username = ref.telegram_username
    if username is not None:
        return uow.leads.by_username(username)
    return uow.leads.by_email(ref.email) if ref.email is not None else None


def record_event(
    request: EventRequest, *, service: LeadService, uow_factory: Callable[[], UnitOfWork],
    now: Callable[[], datetime],
) -> Recorded | None:
    """What the lead looks like after the signal; None when there is no such lead.

    Raises ValueError for an event the script does not declare (nothing is written),
    and IdempotencyKeyReused when the request's `id` was first sent with another event.
    """
    with uow_factory() as uow:
        lead = find_lead(uow, request.lead)
        lead_id = lead.id if lead is not None else None
    if lead_id is None:
        return None
    # The key is scoped to the lead: two systems numbering their events 1, 2, 3…
    # must not swallow each other's signals for different leads.
    event_id = f"{lead_id}:{request.id}" if request.id is not None else None
    if request.id is not None:
        claim_key(uow_factory, lead_id=lead_id, key=request.id, event=request.event, now=now())
    handled = service.record_signal(lead_id, request.event, event_id=event_id)
    if handled is None:
        return None  # erased (/forget) between the lookup and the signal
    if not handled.duplicate:
        return Recorded(lead_id, handled.stage, handled.score, handled.temperature, False)
    # A retry: nothing was recorded; answer with the lead as it stands.
    with uow_factory() as uow:
        lead = uow.leads.get(lead_id)
        if lead is None:
            return None
        return Recorded(lead_id, lead.stage, lead.score, lead.temperature, True)

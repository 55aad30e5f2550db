"""The outbox sender for HubSpot: keep a qualified lead's contact up to date, note the transcript once, erase.

On each lifecycle event of a qualified lead the contact is upserted by email with
the lead as it is now (name, company, phone, lifecycle stage, lead status,
source, score, owner); the first sync adds the transcript as a note. The contact
and note ids are kept in `key_values` (`hubspot.contact:<lead id>`), written in the
transaction that records the delivery, so a retry never adds a second note. On
`lead.erased` the contact is removed with HubSpot's GDPR delete. 429 waits for
`Retry-After`; 5xx, network errors and auth problems retry with back-off; other
4xx (HubSpot refusing the data, e.g. a missing custom property) fail for good.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.integrations.fanout import HUBSPOT_KIND
from bot.integrations.hubspot_api import HubSpotCrm, HubSpotError
from bot.outbox.worker import Delivered, Failed, Outcome, RetryLater
from bot.slack.card_source import load_transcript
from conversations.dsl import Script
from storage.models import Lead
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork

LEAD_STATUS = {"sql": "NEW", "claimed": "IN_PROGRESS", "disqualified": "UNQUALIFIED"}
LONG_RETRY = 300.0  # seconds: a bad token waits for someone to fix it


def contact_key(lead_id: int) -> str:
    return f"hubspot.contact:{lead_id}"


def contact_properties(lead: Lead, owners: Mapping[str, str]) -> dict[str, str]:
    """The documented properties; `leadbot_score` and `leadbot_source` are custom ones."""
    full = (lead.name or " ".join(p for p in (lead.first_name, lead.last_name) if p)).strip()
    first, _, last = full.partition(" ")
    status = "disqualified" if lead.stage == "disqualified" else ("claimed" if lead.owner_id else "sql")
    properties = {
        "firstname": first, "lastname": last, "company": lead.company or "", "phone": lead.phone or "",
        "jobtitle": lead.role or "", "lifecyclestage": "salesqualifiedlead",
        "hs_lead_status": LEAD_STATUS[status], "leadbot_score": str(lead.score),
        "leadbot_source": lead.source or "",
    }
    owner = owners.get(lead.owner_id or "")
    if owner is not None:
        properties["hubspot_owner_id"] = owner
    return {key: value for key, value in properties.items() if value != "" or key == "leadbot_source"}


@dataclass(frozen=True, slots=True)
class HubSpotJob:
    lead_id: int
    erase: bool = False
    email: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    contact_id: str | None = None
    note_id: str | None = None
    note_html: str | None = None  # None: the note exists already
    note_at_ms: int = 0


class HubSpotSender:
    kinds: Sequence[str] = (HUBSPOT_KIND,)

    def __init__(self, *, crm: HubSpotCrm, owners: Mapping[str, str],
                 script_provider: Callable[[], Script | None]) -> None:
        self._crm = crm
        self._owners = dict(owners)
        self._script = script_provider

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> HubSpotJob | None:
        lead_id = int(row.payload["lead_id"])
        known = uow.key_values.get_locked(contact_key(lead_id))
        contact_id = str(known.value["contact_id"]) if known is not None else None
        if row.payload["type"] == "lead.erased":
            return HubSpotJob(lead_id=lead_id, erase=True, contact_id=contact_id)
        lead = uow.leads.get(lead_id)
        if lead is None or lead.qualified_at is None:
            return None  # erased since, or not sales-qualified: nothing goes to the CRM
        if not lead.email:
            raise ValueError("the lead has no email; HubSpot contacts are matched by email")
        note_id = str(known.value.get("note_id")) if known is not None and known.value.get("note_id") else None
        note_html = None
        if note_id is None:
            lines = load_transcript(uow, lead_id, self._script())
            note_html = "<p><strong>Leadbot conversation</strong> (lead #%d)</p>" % lead_id + "".join(
                f"<p>{line.at:%Y-%m-%d %H:%M} UTC — <strong>{html.escape(line.who)}</strong>: "
                f"{html.escape(line.text)}</p>" for line in lines)
        return HubSpotJob(
            lead_id=lead_id, email=lead.email, properties=tuple(contact_properties(lead, self._owners).items()),
            contact_id=contact_id, note_id=note_id, note_html=note_html,
            note_at_ms=int(lead.qualified_at.timestamp() * 1000),
        )

    async def send(self, job: HubSpotJob | None) -> Outcome:
        if job is None:
            return Delivered({"skipped": True})
        try:
            return Delivered(await asyncio.to_thread(self._sync, job))
        except HubSpotError as exc:
            if exc.status == 429:
                return RetryLater(str(exc), delay=exc.retry_after)
            if exc.status in (401, 403):
                return RetryLater(str(exc), delay=LONG_RETRY)
            if exc.status == 0 or exc.status >= 500:
                return RetryLater(str(exc))
            return Failed(str(exc))

    def _sync(self, job: HubSpotJob) -> dict[str, Any]:
        if job.erase:
            if job.contact_id is not None:
                self._crm.gdpr_delete(job.contact_id)
            return {"erased": job.contact_id}
        assert job.email is not None
        contact_id = self._crm.upsert_contact(job.email, dict(job.properties))
        note_id = job.note_id
        if job.note_html is not None:
            note_id = self._crm.add_note(contact_id, job.note_html, job.note_at_ms)
        return {"contact_id": contact_id, "note_id": note_id}

    def on_delivered(self, uow: UnitOfWork, job: HubSpotJob | None, result: dict[str, Any],
                     now: datetime) -> None:
        if job is None:
            return
        if job.erase:
            uow.key_values.delete(contact_key(job.lead_id))
        elif result.get("contact_id"):
            uow.key_values.put(contact_key(job.lead_id),
                               {"contact_id": result["contact_id"], "note_id": result.get("note_id")}, now=now)

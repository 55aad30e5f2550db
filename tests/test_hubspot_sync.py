"""HubSpot sync end to end: the official hubspot-api-client against a fake CRM v3 API on
127.0.0.1 that answers 409 on a duplicate email, 429 with Retry-After and 502. Each qualified
lead ends as exactly one contact with the documented properties and one transcript note, the
claiming rep becomes the owner, and /forget removes the contact with the GDPR delete."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import Container
from bot.integrations.hubspot_sender import contact_key
from bot.integrations.lead_events import LEAD_EVENT_KIND
from bot.slack.lead_actions import claim_lead
from tests.conftest import ControlledClock
from tests.fakes.hubspot_api import CONTACTS, TOKEN, FakeHubSpotApi, Fault
from tests.integration_helpers import integration_worker, open_container, rows, run_worker_until, settled
from tests.sla_helpers import QUALIFYING, qualify
from tests.test_webhooks_e2e import forget

KINDS = (LEAD_EVENT_KIND, "hubspot")


def answers(name: str, company: str, email: str) -> list[str]:
    return [*QUALIFYING[:5], name, company, email, "+33 6 12 34 56 78"]


async def sync(container: Container, clock: ControlledClock) -> None:
    await run_worker_until(integration_worker(container), lambda: settled(container, *KINDS),
                           tick=lambda: clock.advance(seconds=5))


async def test_each_qualified_lead_is_one_contact_with_one_note_and_forget_erases_it(
    database_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    with FakeHubSpotApi() as hubspot:
        container = open_container(database_url, None, clock, hubspot_token=TOKEN,
                                   hubspot_api_base_url=hubspot.base_url, hubspot_owners="U0SAM0001=555")
        with hubspot.lock:  # Grace filled a HubSpot form last year
            hubspot._new_contact({"email": "grace@navy.example", "firstname": "G."})
        hubspot.inject(Fault("conflict", 1))  # a form creates the first new contact just before we do
        hubspot.inject(Fault("ratelimit", 2, retry_after=2))
        hubspot.inject(Fault("status", 2, status=502))
        ada = qualify(container, "901", answers("Ada Lovelace", "Analytical Engines", "ada@example.com"))
        qualify(container, "902", answers("Grace Hopper", "Navy", "grace@navy.example"))
        qualify(container, "903", answers("Alan Turing", "Bletchley", "alan@example.org"))
        with container.uow() as uow:
            claim_lead(uow, lead_id=ada, user_id="U0SAM0001", user_name="sam", now=clock.now)
            uow.commit()
        await sync(container, clock)

        statuses = [call.status for call in hubspot.calls()]
        assert 429 in statuses and 502 in statuses and 409 in statuses
        assert all(r.status == "delivered" for r in rows(container, "hubspot"))
        for email, first, last, company in (("ada@example.com", "Ada", "Lovelace", "Analytical Engines"),
                                            ("grace@navy.example", "Grace", "Hopper", "Navy"),
                                            ("alan@example.org", "Alan", "Turing", "Bletchley")):
            [contact] = hubspot.contacts_by_email(email)
            props = contact["properties"]
            assert (props["firstname"], props["lastname"], props["company"]) == (first, last, company)
            assert props["lifecyclestage"] == "salesqualifiedlead"
            assert int(props["leadbot_score"]) >= 70 and "leadbot_source" in props
            assert props["phone"].replace(" ", "") == "+33612345678", props["phone"]
            [note] = hubspot.notes_of(contact["id"])
            assert "we sell accounting software" in note["properties"]["hs_note_body"]
        ada_props = hubspot.contacts_by_email("ada@example.com")[0]["properties"]
        assert ada_props["hs_lead_status"] == "IN_PROGRESS" and ada_props["hubspot_owner_id"] == "555"
        alan = hubspot.contacts_by_email("alan@example.org")[0]
        assert alan["properties"]["hs_lead_status"] == "NEW" and "hubspot_owner_id" not in alan["properties"]

        with container.uow() as uow:
            alan_lead = uow.leads.find("alan@example.org")
            assert alan_lead is not None
            alan_lead_id = alan_lead.id
        forget(container, "903")
        await sync(container, clock)
        assert hubspot.contacts_by_email("alan@example.org") == [] and hubspot.state.erased == [alan["id"]]
        assert hubspot.notes_of(alan["id"]) == []
        with container.uow() as uow:
            assert uow.key_values.get_locked(contact_key(alan_lead_id)) is None
        assert len(hubspot.contacts_by_email("ada@example.com")) == 1
        assert [c.status for c in hubspot.calls("POST", CONTACTS + "/gdpr-delete")] == [204]
        container.close()

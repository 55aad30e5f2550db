"""HubSpot CRM calls through the official `hubspot-api-client`: upsert a contact by email, add a note, GDPR delete.

Synchronous (the client is urllib3-based): the sender runs these in a thread. The
client's own retries are off: the outbox owns retries, durably. HubSpot errors
come out as `HubSpotError` with the HTTP status and `Retry-After`, for the sender
to map onto retry-later or failed-for-good.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import PublicGdprDeleteInput, SimplePublicObjectInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput
from hubspot.crm.objects.notes import ApiException as NotesApiException
from hubspot.crm.objects.notes import AssociationSpec, PublicAssociationsForObject, PublicObjectId
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util.retry import Retry

# HubSpot's defined association type "note to contact".
NOTE_TO_CONTACT = 202
TIMEOUT = 10.0
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


class HubSpotError(Exception):
    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status  # 0: no HTTP answer (network)
        self.retry_after = retry_after


def build_hubspot_client(*, token: str, base_url: str) -> HubSpot:
    return HubSpot(access_token=token, host=base_url.rstrip("/"), retry=Retry(total=0))


def _error(exc: Exception, doing: str) -> HubSpotError:
    if isinstance(exc, (ContactsApiException, NotesApiException)):
        headers = exc.headers or {}
        retry_after: float | None = None
        try:
            retry_after = float(headers.get("Retry-After") or headers.get("retry-after") or "")
        except ValueError:
            retry_after = None
        body = (exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or ""))
        return HubSpotError(f"HubSpot {exc.status} {doing}: {body[:300]}", status=int(exc.status or 0),
                            retry_after=retry_after)
    return HubSpotError(f"HubSpot unreachable {doing}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class HubSpotCrm:
    client: HubSpot

    def upsert_contact(self, email: str, properties: dict[str, str]) -> str:
        """The contact's id: updated by email when it exists, else created (409: someone else did)."""
        contacts = self.client.crm.contacts.basic_api
        try:
            try:
                found = contacts.update(contact_id=email, id_property="email",
                                        simple_public_object_input=SimplePublicObjectInput(properties=properties),
                                        _request_timeout=TIMEOUT)
                return str(found.id)
            except ContactsApiException as exc:
                if exc.status != 404:
                    raise
            try:
                created = contacts.create(ContactInput(properties={**properties, "email": email}, associations=[]),
                                          _request_timeout=TIMEOUT)
                return str(created.id)
            except ContactsApiException as exc:
                existing = _EXISTING_ID.search(str(exc.body or ""))
                if exc.status != 409 or existing is None:
                    raise
            updated = contacts.update(contact_id=existing.group(1),
                                      simple_public_object_input=SimplePublicObjectInput(properties=properties),
                                      _request_timeout=TIMEOUT)
            return str(updated.id)
        except (ContactsApiException, TransportError) as exc:
            raise _error(exc, "upserting the contact") from None

    def add_note(self, contact_id: str, body_html: str, timestamp_ms: int) -> str:
        association = PublicAssociationsForObject(
            to=PublicObjectId(id=contact_id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                   association_type_id=NOTE_TO_CONTACT)],
        )
        note = NoteInput(properties={"hs_note_body": body_html, "hs_timestamp": str(timestamp_ms)},
                         associations=[association])
        try:
            created: Any = self.client.crm.objects.notes.basic_api.create(note, _request_timeout=TIMEOUT)
        except (NotesApiException, TransportError) as exc:
            raise _error(exc, "adding the note") from None
        return str(created.id)

    def gdpr_delete(self, contact_id: str) -> None:
        """Permanently delete the contact and what is attached to it (HubSpot's GDPR delete)."""
        try:
            self.client.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=contact_id),
                                                     _request_timeout=TIMEOUT)
        except ContactsApiException as exc:
            if exc.status == 404:
                return  # already gone
            raise _error(exc, "erasing the contact") from None
        except TransportError as exc:
            raise _error(exc, "erasing the contact") from None

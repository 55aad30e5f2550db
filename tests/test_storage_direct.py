"""The per-message statements (storage.direct) on SQLite and PostgreSQL: values round-trip
as through SQLAlchemy, driver errors arrive as SQLAlchemy's, the lead's save keeps
every column right whichever indexed ones changed, and the one-statement outbox and SLA
inserts dedupe."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from bot.service import reply_payload
from conversations.exchange import Choice, Reply
from conversations.state import AnswerState, ConversationState
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.models import Conversation, Lead, OutboxMessage, ProcessedMessage, SlaClock
from storage.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _state(**changes: object) -> ConversationState:
    fresh = ConversationState.fresh(script_id="s", lang="fr")
    return fresh.model_copy(update=changes)


def test_a_chat_is_read_and_saved_with_its_values_intact(
    store: tuple[UnitOfWork, Engine],
) -> None:
    uow, _ = store
    later = NOW + timedelta(minutes=5)
    with uow:
        chat = uow.leads.load_chat("telegram", "7", now=NOW, message_id="1")
        assert chat is not None
        lead, active = chat
        assert active is None and lead.created_at == NOW and lead.reasons == []
        state = _state(answers={"budget": AnswerState(raw_text="élan 50k €", value=50000.0)},
                       started_at=NOW)
        conversation_id = uow.conversations.start(
            lead_id=lead.id, script_id="s", script_version="v1",
            state=state.model_dump_json(), status=state.status, now=NOW)
        lead.first_name, lead.stage, lead.email = "Zoë", "mql", "zoe@example.com"
        lead.reasons, lead.next_nudge_at, lead.stopped = ["budget ≥ 10k"], later, True
        uow.leads.save(lead, conversation_id=conversation_id, state=state.model_dump_json(),
                       status="active", now=later)
        uow.commit()
    with uow:
        chat = uow.leads.load_chat("telegram", "7", now=later, message_id="2")
        assert chat is not None
        lead, active = chat
        assert active is not None and active[0] == conversation_id
        assert ConversationState.model_validate_json(active[1]) == state
        assert (lead.first_name, lead.stage, lead.email) == ("Zoë", "mql", "zoe@example.com")
        assert (lead.reasons, lead.next_nudge_at, lead.stopped) == (["budget ≥ 10k"], later, True)
        assert lead.updated_at == NOW  # `save` writes the record's own updated_at
        status = uow.session.scalar(select(Conversation.status)
                                    .where(Conversation.id == conversation_id))
        assert status == "active"
        assert uow.leads.load_chat("telegram", "7", now=later, message_id="2") is None


@pytest.mark.parametrize("changed", ["stage", "email", "username", "next_nudge_at", None])
def test_saving_a_lead_writes_an_indexed_column_only_when_changed_yet_always_right(
    store: tuple[UnitOfWork, Engine], changed: str | None,
) -> None:
    uow, _ = store
    values = {"stage": "sql", "email": "a@b.c", "username": "ada",
              "next_nudge_at": NOW + timedelta(days=1)}
    with uow:
        lead = uow.leads.load_for_message("telegram", "9", now=NOW)
        conversation_id = uow.conversations.start(
            lead_id=lead.id, script_id="s", script_version="v1", state="{}", status="new",
            now=NOW)
        for name, value in values.items():
            setattr(lead, name, value)
        uow.leads.save(lead, conversation_id=conversation_id, state="{}", status="new", now=NOW)
        uow.commit()
    with uow:
        lead = uow.leads.load_for_message("telegram", "9", now=NOW)
        if changed is not None:
            values[changed] = "mql" if changed == "stage" else (
                NOW + timedelta(days=2) if changed == "next_nudge_at" else "new")
            setattr(lead, changed, values[changed])
        lead.score = 42
        uow.leads.save(lead, conversation_id=conversation_id, state="{}", status="new", now=NOW)
        lead.name = "twice in one transaction"
        uow.leads.save(lead, conversation_id=conversation_id, state="{}", status="new", now=NOW)
        uow.commit()
    with uow:
        stored = uow.leads.by_chat("telegram", "9")
        assert stored is not None
        assert {name: getattr(stored, name) for name in values} == values
        assert (stored.score, stored.name) == (42, "twice in one transaction")


def test_a_driver_error_is_raised_as_sqlalchemys(store: tuple[UnitOfWork, Engine]) -> None:
    uow, _ = store
    with uow:
        uow.events.add(lead_id=None, type="lead_forgotten", payload={}, now=NOW)
        with pytest.raises(IntegrityError):  # no such lead: the foreign key refuses it
            uow.answers.record(lead_id=999, conversation_id=999, question_id="q", raw_text="x",
                               option_id=None, value=None, confidence=1.0, via="text",
                               corrects=False, now=NOW)


def test_the_connection_is_not_reused_after_a_commit(store: tuple[UnitOfWork, Engine]) -> None:
    uow, _ = store
    with uow:
        uow.processed.remember("telegram", "1", now=NOW)
        uow.commit()
        uow.processed.remember("telegram", "2", now=NOW)  # a new transaction
        uow.rollback()
        assert uow.processed.remember("telegram", "2", now=NOW)
        uow.commit()
    with uow:
        assert uow.processed.seen("telegram", "1") and uow.processed.seen("telegram", "2")


def test_the_same_now_bound_again_and_other_times_are_each_stored_right(
    store: tuple[UnitOfWork, Engine],
) -> None:
    uow, _ = store
    paris = timezone(timedelta(hours=1))
    times = [NOW, NOW, NOW + timedelta(seconds=1), NOW, NOW.astimezone(paris), NOW]
    with uow:
        for number, at in enumerate(times):
            uow.processed.remember("telegram", str(number), now=at)
        uow.commit()
    with uow:
        stored = uow.session.execute(
            select(ProcessedMessage.message_id, ProcessedMessage.processed_at)).all()
    assert sorted(stored) == [(str(number), at) for number, at in enumerate(times)]
    assert all(at.tzinfo == UTC for _, at in stored)


def test_outbox_queue_returns_the_id_once_per_dedupe_key(store: tuple[UnitOfWork, Engine]) -> None:
    uow, _ = store
    with uow:
        first = uow.outbox.queue(kind="slack_alert", destination="slack:#a", payload={"n": 1},
                                 now=NOW, dedupe_key="alert:1:sql")
        again = uow.outbox.queue(kind="slack_alert", destination="slack:#a", payload={"n": 2},
                                 now=NOW, dedupe_key="alert:1:sql")
        plain = uow.outbox.queue(kind="slack_alert", destination="slack:#a", payload={"n": 3},
                                 now=NOW)
        uow.commit()
    assert first is not None and again is None and plain is not None and plain > first
    with uow:
        rows = uow.outbox.pending(kinds=["slack_alert"])
        assert [(r.id, r.payload, r.status, r.attempts, r.next_attempt_at) for r in rows] == [
            (first, {"n": 1}, "pending", 0, NOW), (plain, {"n": 3}, "pending", 0, NOW)]


def test_deliveries_are_recorded_and_read_back_newest_first(store: tuple[UnitOfWork, Engine]) -> None:
    uow, _ = store
    with uow:
        lead_id = uow.leads.get_or_create_locked("telegram", "77", now=NOW).id
        uow.outbox.queue_many(kind="telegram", destination="telegram:77", lead_id=lead_id,
                              payloads=[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}], now=NOW)
        uow.commit()
    with uow:
        ids = [row.id for row in uow.outbox.pending(kinds=["telegram"])]
        later = NOW + timedelta(seconds=1)
        uow.outbox.mark_delivered_many([(ids[0], {"message_id": 10, "text": "é"}),
                                        (ids[2], {"message_id": 12})], now=later)
        uow.outbox.mark_delivered(ids[1], result={"edited": 10}, now=later)
        uow.commit()
    with uow:
        assert list(uow.outbox.delivered_before(lead_id, kind="telegram", before=ids[3])) == [
            ({"n": 3}, {"message_id": 12}), ({"n": 2}, {"edited": 10}),
            ({"n": 1}, {"message_id": 10, "text": "é"})]
        assert list(uow.outbox.delivered_before(lead_id, kind="telegram", before=ids[3],
                                                limit=2)) == [
            ({"n": 3}, {"message_id": 12}), ({"n": 2}, {"edited": 10})]
        assert list(uow.outbox.delivered_before(lead_id, kind="telegram", before=ids[1])) == [
            ({"n": 1}, {"message_id": 10, "text": "é"})]
        assert list(uow.outbox.delivered_before(lead_id, kind="slack", before=ids[3])) == []
        statuses = {row.id: (row.status, row.delivered_at) for row in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.lead_id == lead_id))}
    assert statuses == {ids[0]: ("delivered", later), ids[1]: ("delivered", later),
                        ids[2]: ("delivered", later), ids[3]: ("pending", None)}


def test_a_delivery_is_decoded_only_when_read(sqlite_url: str) -> None:
    """A reply reads the newest delivery and stops: older rows' JSON is never decoded (an
    undecodable older payload shows it), and reading one raises as before. (On SQLite
    only: PostgreSQL cannot hold a payload that is not JSON.)"""
    engine = create_database_engine(sqlite_url)
    migrate.upgrade(engine)
    uow = UnitOfWork(create_session_factory(engine))
    with uow:
        lead_id = uow.leads.get_or_create_locked("telegram", "78", now=NOW).id
        uow.outbox.queue_many(kind="telegram", destination="telegram:78", lead_id=lead_id,
                              payloads=[{"n": 1}, {"n": 2}, {"n": 3}], now=NOW)
        uow.commit()
    with uow:
        ids = [row.id for row in uow.outbox.pending(kinds=["telegram"])]
        uow.outbox.mark_delivered_many([(i, {"message_id": i}) for i in ids[:2]], now=NOW)
        uow.commit()
    with engine.begin() as db:
        db.execute(text("UPDATE outbox SET payload = 'not json' WHERE id = :id"), {"id": ids[0]})
    with uow:
        rows = uow.outbox.delivered_before(lead_id, kind="telegram", before=ids[2])
        assert len(rows) == 2
        assert rows[0] == ({"n": 2}, {"message_id": ids[1]}) == rows[-2]
        with pytest.raises(ValueError):
            rows[1]
        with pytest.raises(IndexError):
            rows[-3]
        assert [row[0] for row in rows[:1]] == [{"n": 2}]
    engine.dispose()


def test_a_leads_first_sla_clock_stands(store: tuple[UnitOfWork, Engine]) -> None:
    uow, _ = store
    with uow:
        lead = uow.leads.load_for_message("telegram", "5", now=NOW)
        for channel in ("slack:#first", "slack:#second"):
            uow.sla_clocks.start(lead_id=lead.id, route_index=None, channel=channel,
                                 alert_outbox_id=None, policy={"remind": True}, step="reminder",
                                 due_at=NOW, qualified_at=NOW, deadline_at=NOW)
        uow.commit()
    with uow:
        clock = uow.session.get(SlaClock, lead.id)
        assert clock is not None
        assert (clock.channel, clock.policy, clock.next_due_at) == (
            "slack:#first", {"remind": True}, NOW)
        assert uow.session.get(Lead, lead.id) is not None


def test_reply_payload_is_the_replys_asdict() -> None:
    reply = Reply("Pick one", choices=(Choice("a", "A"), Choice("b", "B")), question_id="q",
                  request_phone=True)
    assert reply_payload(reply) == dataclasses.asdict(reply)
    assert reply_payload(Reply("hi")) == dataclasses.asdict(Reply("hi"))

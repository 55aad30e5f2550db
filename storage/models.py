"""SQLAlchemy 2 models: leads, conversations, answers, events, outbox, processed messages.

The schema itself is owned by Alembic (`storage/migrations`); a test checks that
these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from conversations.vocabulary import EventType, Stage, Temperature

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BigInteger primary keys autoincrement on PostgreSQL; SQLite only does it for INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Lead(Base):
    """A prospect on one channel; the unit that scores, moves through stages and gets alerted."""

    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(256))
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    source: Mapped[str | None] = mapped_column(String(64))
    # Contact details given in the flow (questions marked `field:`).
    name: Mapped[str | None] = mapped_column(String(256))
    company: Mapped[str | None] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(256))
    stage: Mapped[Stage] = mapped_column(String(16), default="new", index=True)
    temperature: Mapped[Temperature] = mapped_column(String(8), default="cold")
    score: Mapped[int] = mapped_column(Integer, default=0)
    fit: Mapped[int] = mapped_column(Integer, default=0)
    intent: Mapped[int] = mapped_column(Integer, default=0)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    owner_name: Mapped[str | None] = mapped_column(String(256))
    disqualified_reason: Mapped[str | None] = mapped_column(Text)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    qualified_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    # When the next reminder or follow-up is due (None: nothing scheduled).
    next_nudge_at: Mapped[datetime | None] = mapped_column(index=True)


class Conversation(Base):
    """One run through a script; `/restart` starts a new one. `state` is the engine's state."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    script_id: Mapped[str] = mapped_column(String(64))
    script_version: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Which stored script version (script_versions.number) it started under, and the
    # experiment variant it was assigned to (None outside experiments).
    version_number: Mapped[int | None] = mapped_column(Integer)
    experiment: Mapped[str | None] = mapped_column(String(64), index=True)
    variant: Mapped[str | None] = mapped_column(String(32))


class Answer(Base):
    """Each answer as given: raw words, matched option, parsed value, confidence."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(64))
    raw_text: Mapped[str] = mapped_column(Text)
    option_id: Mapped[str | None] = mapped_column(String(64))
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    via: Mapped[str] = mapped_column(String(16))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class LeadEvent(Base):
    """The lead's history: stage changes, unmatched answers, stops, alerts…"""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[EventType] = mapped_column(String(48), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


_PENDING_ONLY: dict[str, Any] = {
    "sqlite_where": text("status = 'pending'"),
    "postgresql_where": text("status = 'pending'"),
}


class OutboxMessage(Base):
    """A message to deliver after the transaction that decided it committed.

    `destination` orders delivery (one destination's rows go out in id order);
    `dedupe_key` makes "at most one alert per lead and stage" a database fact.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # claim_due walks the pending rows of its kinds in id order and probes each
        # one's destination for its oldest pending row: two small partial indexes
        # (delivered rows, the vast majority over time, are in neither). No other
        # index may lead with `status`: without statistics PostgreSQL's planner would
        # pick it for the probe and read every pending row for each candidate.
        Index("ix_outbox_pending", "kind", "id", **_PENDING_ONLY),
        Index("ix_outbox_pending_destination", "destination", "id", **_PENDING_ONLY),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(128))
    dedupe_key: Mapped[str | None] = mapped_column(String(191), unique=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ProcessedMessage(Base):
    """Inbound message ids already handled (Telegram update_id, Slack event_id…)."""

    __tablename__ = "processed_messages"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime]


class KeyValue(Base):
    """Small durable counters and cursors (e.g. the rep rotation of a route)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class Lease(Base):
    """Work that one process at a time does, e.g. sending to Telegram at the bot's global pace.

    A holder renews its lease well before `expires_at`; a process that died simply stops
    renewing, and another takes over once the lease has expired.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class ScriptVersion(Base):
    """One stored text of the question script; `number` counts up from 1."""

    __tablename__ = "script_versions"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    script_id: Mapped[str] = mapped_column(String(64))
    yaml_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(191), index=True)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class ScriptDeployment(Base):
    """What is served from `created_at` on: one version, or an experiment's variants.

    The row with the highest id is the active one; rows are never updated, so the
    table is the audit trail of every publish, rollback and experiment.
    """

    __tablename__ = "script_deployments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    experiment: Mapped[str | None] = mapped_column(String(64))
    # [{"name": "a", "version": 3, "weight": 50}, …]; one entry named "" outside experiments.
    variants: Mapped[list[Any]] = mapped_column(JSON)
    baseline_version: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(191))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

class StudioUser(Base):
    """A person who signs in to the web workspace (/studio): viewer, marketer or admin."""

    __tablename__ = "studio_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    # Set by `users add` / `reset-password` (a one-time password): change it at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on disable, password change and reset: every cookie signed before is void.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class StudioLoginFailure(Base):
    """One wrong sign-in: counted per account and per address for the lock-out."""

    __tablename__ = "studio_login_failures"
    __table_args__ = (
        Index("ix_studio_login_failures_account_at", "account", "at"),
        Index("ix_studio_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class StudioAuditEntry(Base):
    """Who changed what prospects see, or who may change it: publish, rollback, users…"""

    __tablename__ = "studio_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(256))
    detail: Mapped[str] = mapped_column(Text, default="")

class SlaClock(Base):
    """A qualified lead's speed-to-lead clock: the next reminder or escalation and when it falls due.

    `policy` is the rule's `sla:` as it was when the lead qualified, so editing the
    script changes future leads, not the clocks already running. `step` is
    "reminder" or "escalation" while something is due, then "done" (every step
    taken) or "claimed". `deadline_at` is when the SLA is breached (reports compare
    `claimed_at` with it).
    """

    __tablename__ = "sla_clocks"

    lead_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    route_index: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(128))
    alert_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    step: Mapped[str] = mapped_column(String(16))
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    qualified_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]


class StudioDraft(Base):
    """The script draft the workspace edits: one YAML text, saved on every change.

    `revision` goes up on each save, so a save made from an outdated page is refused
    instead of silently overwriting a colleague's edit.
    """

    __tablename__ = "studio_drafts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int | None] = mapped_column(Integer)  # the version it started from
    revision: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(191))
    updated_at: Mapped[datetime]


class StudioPreview(Base):
    """A workspace user's preview chat with the draft (engine state and the lines shown)."""

    __tablename__ = "studio_previews"

    owner: Mapped[str] = mapped_column(String(191), primary_key=True)
    session: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class StudioDismissal(Base):
    """An unmatched answer a marketer dismissed from the inbox (by its folded text)."""

    __tablename__ = "studio_dismissals"

    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(String(191), primary_key=True)
    dismissed_by: Mapped[str] = mapped_column(String(191))
    dismissed_at: Mapped[datetime]

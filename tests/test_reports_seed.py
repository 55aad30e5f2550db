"""A database seeded through the real service with a known simulation, shared by the
report and export tests; and checks that the simulation did what its plan says.

Several hundred prospects go through `LeadService.handle_message` (the one way in)
with a controlled clock: each plan taps the same buttons, so stages and timings
are known in advance — the expectations below are computed from the plan, never
read back from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.bootstrap import build
from bot.reports.attribution import parse_payload
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from storage.models import Lead

QUESTIONS = ("sector", "company_size", "budget", "urgency", "name", "company", "email", "phone")
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
GAP = timedelta(minutes=7)
PROSPECTS = 263
PAYLOADS = ("linkedin-q3launch-paid", "google-q3launch-cpc", "newsletter-may", "partner", None)
GIBBERISH = ("Blörf  Zyx", "blorf zyx", "BLORF ZYX", "blörf zyx ")
EVIL_COMPANY = '=HYPERLINK("http://evil.example","x")'


@dataclass(frozen=True)
class Plan:
    """What one kind of prospect does, and what that must produce."""

    name: str
    # Messages after /start: ("tap", question, option) | ("type", question, text)
    # | ("skip", question, "") | ("stop", "", "")
    moves: tuple[tuple[str, str, str], ...]
    answered: frozenset[str]
    current: str | None
    completed: bool
    mql_on: str | None = None  # the answer that makes the lead an MQL
    sql_on: str | None = None


HOT = (("tap", "sector", "software"), ("tap", "company_size", "medium"),
       ("tap", "budget", "20k_100k"), ("tap", "urgency", "now"))
CONTACT = (("type", "name", "Ada Lovelace"), ("type", "company", "Analytical Engines"),
           ("type", "email", "ada@example.com"))
MID = (("tap", "sector", "retail"), ("tap", "company_size", "small"))
FOUR = frozenset(QUESTIONS[:4])

PLANS = (
    Plan("stop_sector", (), frozenset(), "sector", False),
    Plan("stop_size", (("tap", "sector", "retail"), ("type", "company_size", "<gibberish>")),
         frozenset({"sector"}), "company_size", False),
    Plan("stop_budget", (*MID, ("stop", "", "")), frozenset(QUESTIONS[:2]), "budget", False),
    Plan("stop_urgency", (*MID, ("tap", "budget", "5k_20k")), frozenset(QUESTIONS[:3]),
         "urgency", False),
    Plan("engaged", (*MID, ("tap", "budget", "5k_20k"), ("tap", "urgency", "year")), FOUR,
         None, True),
    Plan("disqualified", (("tap", "sector", "education"), ("tap", "company_size", "micro"),
                          ("tap", "budget", "lt_5k"), ("tap", "urgency", "exploring")),
         FOUR, None, True),
    Plan("mql_name", HOT, FOUR, "name", False, mql_on="company_size"),
    Plan("mql_email", (*HOT, *CONTACT[:2], ("type", "email", "not an email")),
         FOUR | {"name", "company"}, "email", False, mql_on="company_size"),
    Plan("sql_skip", (("tap", "sector", "healthcare"), ("tap", "company_size", "small"),
                      ("tap", "budget", "gt_100k"), ("tap", "urgency", "now"), *CONTACT,
                      ("skip", "phone", "")),
         frozenset(QUESTIONS), None, True, mql_on="budget", sql_on="email"),
    Plan("sql_open", (*HOT, *CONTACT), frozenset(QUESTIONS[:7]), "phone", False,
         mql_on="company_size", sql_on="email"),
)
# Weights: SQL plans twice, so there are enough SQLs for percentiles to mean something.
SLOTS = (*PLANS, PLANS[8], PLANS[9])


@dataclass
class Prospect:
    index: int
    chat_id: str
    plan: Plan
    payload: str | None
    language: str
    created_at: datetime
    delay: timedelta
    claimed: bool = False
    company: str | None = None
    mql_seconds: float | None = None
    sql_seconds: float | None = None

    @property
    def source(self) -> str | None:
        return parse_payload(self.payload).source

    @property
    def campaign(self) -> str | None:
        return parse_payload(self.payload).campaign

    @property
    def is_mql(self) -> bool:
        return self.plan.mql_on is not None

    @property
    def is_sql(self) -> bool:
        return self.plan.sql_on is not None

    def reached(self, question: str) -> bool:
        return question in self.plan.answered or self.plan.current == question


@dataclass
class Seeded:
    url: str
    prospects: list[Prospect] = field(default_factory=list)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def plan_prospects(count: int = PROSPECTS) -> list[Prospect]:
    prospects = []
    for i in range(count):
        payload = PAYLOADS[i % len(PAYLOADS)]
        if payload and i % 10 == 0:
            payload = payload.replace("linkedin", "LinkedIn").replace("q3launch", "Q3Launch")
        plan = SLOTS[(i + i // 12) % len(SLOTS)]  # shifts every round: uneven across sources
        prospects.append(Prospect(
            index=i, chat_id=str(1000 + i), plan=plan, payload=payload,
            language="fr" if i % 3 == 0 else "en", created_at=T0 + i * GAP,
            delay=timedelta(seconds=20 + (i % 9) * 25),
            claimed=plan.sql_on is not None and i % 4 == 0,
        ))
    return prospects


def _inbound(move: tuple[str, str, str], prospect: Prospect, gibberish: int) -> Inbound:
    kind, question, value = move
    if kind == "tap":
        return Inbound(kind="choice", choice=f"a:{question}:{value}")
    if kind == "skip":
        return Inbound(kind="choice", choice=f"s:{question}")
    if kind == "stop":
        return Inbound.parse_text("/stop")
    text = GIBBERISH[gibberish % len(GIBBERISH)] if value == "<gibberish>" else value
    if question == "company" and prospect.index % 7 == 1:
        text = prospect.company = EVIL_COMPANY  # a CRM export must not run it
    elif question == "company":
        prospect.company = text
    return Inbound.parse_text(text)


def seed(path: Path) -> Seeded:
    return seed_url(f"sqlite:///{path}")


def seed_url(url: str, count: int = PROSPECTS) -> Seeded:
    clock = Clock()
    container = build(Settings(database_url=url), clock=clock)
    seeded = Seeded(url=url)
    try:
        for prospect in plan_prospects(count):
            key = ConversationKey("telegram", prospect.chat_id)
            profile = Profile(first_name=f"P{prospect.index}", language_code=prospect.language)
            clock.now = prospect.created_at
            start = "/start" + (f" {prospect.payload}" if prospect.payload else "")
            service = container.service
            service.handle_message(
                key, Inbound.parse_text(start, language_code=prospect.language),
                message_id=None, profile=profile,
            )
            for number, move in enumerate(prospect.plan.moves, start=1):
                clock.now = prospect.created_at + number * prospect.delay
                service.handle_message(
                    key, _inbound(move, prospect, prospect.index), message_id=None,
                    profile=profile,
                )
                elapsed = (clock.now - prospect.created_at).total_seconds()
                # The plan says which answer crosses each threshold; its moment is known.
                if move[1] == prospect.plan.mql_on:
                    prospect.mql_seconds = elapsed
                if move[1] == prospect.plan.sql_on:
                    prospect.sql_seconds = elapsed
            seeded.prospects.append(prospect)
        with container.uow() as uow:
            claimed = [p.chat_id for p in seeded.prospects if p.claimed]
            uow.session.execute(
                update(Lead).where(Lead.chat_id.in_(claimed)).values(owner_id="U0SALES",
                                                                     owner_name="Grace")
            )
            uow.commit()
    finally:
        container.close()
    return seeded


_SEEDED: dict[str, Seeded] = {}


def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """Seed once per test session, whichever module asks first."""
    if "db" not in _SEEDED:
        _SEEDED["db"] = seed(tmp_path_factory.mktemp("reports") / "leadbot.db")
    return _SEEDED["db"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield seeded_database(tmp_path_factory)


def test_the_simulation_followed_its_plans(seeded: Seeded) -> None:
    """Guards the expectations of the report tests: if the bot's flow changes, this fails
    first and says which plan no longer does what it says."""
    from sqlalchemy.orm import Session

    from storage.database import create_database_engine

    engine = create_database_engine(seeded.url)
    try:
        with Session(engine) as session:
            leads = {lead.chat_id: lead for lead in session.scalars(select(Lead))}
    finally:
        engine.dispose()
    assert len(leads) == PROSPECTS
    assert {p.plan.name for p in seeded.prospects} == {plan.name for plan in PLANS}
    for prospect in seeded.prospects:
        lead = leads[prospect.chat_id]
        plan = prospect.plan
        expected_stage = (
            "sql" if plan.sql_on else "mql" if plan.mql_on
            else "disqualified" if plan.name == "disqualified" else "engaged"
            if plan.moves else "new"
        )
        assert lead.stage == expected_stage, (plan.name, lead.stage)
        assert lead.source == prospect.payload, plan.name
        assert (lead.owner_id is not None) == prospect.claimed

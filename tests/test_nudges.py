"""Reminders and follow-ups through the real service on a SQLite file, with a controlled clock.

A worker's periodic `send_due_nudges()` is played by advancing the clock in steps and
calling it after each; what the prospect receives is read from the Telegram outbox
(text and the time it was queued). A restart is a new container on the same file.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from storage.models import LeadEvent, OutboxMessage
from tests.conftest import ControlledClock

FIRST_REMINDER = "Still there? Just a couple of questions left"
LAST_REMINDER = "One last nudge from us"
SIZE_QUESTION = "How many people"
COLD_COMPLETE = ["/start", "shop", "just me", "no idea", "in 6 months"]  # 15 points: engaged, cold
WARM_MQL = ["/start", "hospital", "45", "15k", "in 6 months",  # 40 points: mql, warm
            "Bob Martin", "Clinic", "bob@clinic.org", "skip"]


class Prospect:
    """One Telegram chat played through `LeadService.handle_message`, as the adapter calls it."""

    _ids = count(1)

    def __init__(self, container: Container, chat_id: str, *, lang: str = "en") -> None:
        self.container, self.chat_id, self.lang = container, chat_id, lang
        self.key = ConversationKey("telegram", chat_id)

    def _send(self, inbound: Inbound) -> None:
        self.container.service.handle_message(
            self.key, inbound, message_id=f"{self.chat_id}-{next(self._ids)}",
            profile=Profile(first_name="Ada", username=f"user{self.chat_id}",
                            language_code=self.lang),
            outbound="telegram",
        )

    def say(self, *lines: str) -> None:
        for line in lines:
            self._send(Inbound.parse_text(line, first_name="Ada", language_code=self.lang))

    def tap(self, token: str) -> None:
        self._send(Inbound(kind="choice", choice=token))

    def received(self) -> list[tuple[datetime, str, list[str]]]:
        """(queued at, text, button tokens) of every message queued for this chat, in order."""
        with self.container.uow() as uow:
            rows = uow.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.destination == f"telegram:{self.chat_id}")
                .order_by(OutboxMessage.id)
            ).all()
            return [(r.created_at, str(r.payload["text"]),
                     [str(c["token"]) for c in r.payload.get("choices") or []]) for r in rows]

    def received_after(self, mark: int) -> list[tuple[datetime, str]]:
        return [(at, text) for at, text, _ in self.received()[mark:]]

    def lead(self) -> Any:
        with self.container.uow() as uow:
            lead = uow.leads.by_chat("telegram", self.chat_id)
            if lead is not None:
                uow.session.expunge(lead)
            return lead


def open_container(url: str, clock: ControlledClock) -> Container:
    return build(Settings(database_url=url), clock=clock)


@pytest.fixture
def container(sqlite_url: str, clock: ControlledClock) -> Iterator[Container]:
    built = open_container(sqlite_url, clock)
    yield built
    built.close()


def run_worker(
    container: Container, clock: ControlledClock, *, until: datetime,
    every: timedelta = timedelta(minutes=10),
) -> int:
    """Tick like a worker's scheduler until `until`; returns how many leads were nudged."""
    nudged = 0
    while clock.now < until:
        clock.now = min(clock.now + every, until)
        nudged += container.service.send_due_nudges()
    return nudged


def test_a_stalled_prospect_gets_each_reminder_at_its_time_and_then_nothing(
    container: Container, clock: ControlledClock,
) -> None:
    ada = Prospect(container, "101")
    ada.say("/start", "software")  # Wednesday 09:00 UTC, 09:00 in London
    stalled, mark = clock.now, len(ada.received())

    run_worker(container, clock, until=stalled + timedelta(days=3))
    run_worker(container, clock, until=stalled + timedelta(days=40), every=timedelta(hours=1))

    sent = ada.received_after(mark)
    # Each reminder is one message: its text, then the question they stopped at.
    assert [at for at, _ in sent] == [stalled + timedelta(hours=2), stalled + timedelta(days=1)]
    first, last = (text.split("\n\n") for _, text in sent)
    assert first[0].startswith(FIRST_REMINDER) and first[1].startswith(SIZE_QUESTION)
    assert last[0].startswith(LAST_REMINDER) and last[1].startswith(SIZE_QUESTION)
    assert ada.lead().next_nudge_at is None  # nothing left scheduled


@pytest.mark.parametrize("ending", ["stop", "forget", "disqualified", "stop after a reminder"])
def test_nothing_is_sent_after_stop_forget_or_disqualification(
    container: Container, clock: ControlledClock, ending: str,
) -> None:
    ada = Prospect(container, "102")
    if ending == "disqualified":
        ada.say("/start", "school", "just me", "2000 euros", "just looking")
    else:
        ada.say("/start", "software")
    if ending == "stop after a reminder":
        run_worker(container, clock, until=clock.now + timedelta(hours=3))
        reminder, question = ada.received()[-1][1].split("\n\n")
        assert reminder.startswith(FIRST_REMINDER) and question.startswith(SIZE_QUESTION)
        ada.say("/stop")
    elif ending == "stop":
        ada.say("/stop")
    elif ending == "forget":
        ada.say("/forget")
        ada.tap("f:yes")
    mark = len(ada.received())

    assert run_worker(container, clock, until=clock.now + timedelta(days=10),
                      every=timedelta(minutes=30)) == 0
    assert ada.received_after(mark) == []
    lead = ada.lead()
    assert lead is None if ending == "forget" else lead.next_nudge_at is None


def test_a_restart_between_reminders_changes_nothing_and_two_workers_send_once(
    sqlite_url: str, clock: ControlledClock,
) -> None:
    first = open_container(sqlite_url, clock)
    ada = Prospect(first, "103")
    ada.say("/start", "software")
    stalled, mark = clock.now, len(ada.received())
    run_worker(first, clock, until=stalled + timedelta(hours=3))
    first.close()  # the process stops; the schedule lives in the database

    second, third = open_container(sqlite_url, clock), open_container(sqlite_url, clock)
    try:
        run_worker(second, clock, until=stalled + timedelta(hours=23, minutes=50))
        clock.now = stalled + timedelta(days=1)  # the second reminder is due now
        # Two workers pick the same due lead at the same moment: the prospect gets it once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda c: c.service.send_due_nudges(), [second, third]))
        assert sorted(results) == [0, 1]
        run_worker(third, clock, until=stalled + timedelta(days=5), every=timedelta(hours=1))
        sent = Prospect(third, "103").received_after(mark)
    finally:
        second.close()
        third.close()
    assert [(at, text[:22]) for at, text in sent] == [
        (stalled + timedelta(hours=2), FIRST_REMINDER[:22]),
        (stalled + timedelta(days=1), LAST_REMINDER[:22]),
    ]  # each reminder one message, with the question
    assert all(text.split("\n\n")[1].startswith(SIZE_QUESTION) for _, text in sent)


def test_answering_a_reminder_resumes_the_flow_and_restarts_the_sequence(
    container: Container, clock: ControlledClock,
) -> None:
    ada = Prospect(container, "104")
    ada.say("/start", "software")
    run_worker(container, clock, until=clock.now + timedelta(hours=2, minutes=30))
    # The reminder re-asked it, in the same message.
    assert ada.received()[-1][1].split("\n\n")[1].startswith(SIZE_QUESTION)

    ada.say("45")  # 11:30: answers where they stopped
    answered, mark = clock.now, len(ada.received())
    assert ada.received()[-1][1].startswith("What budget")
    assert ada.lead().next_nudge_at == answered + timedelta(hours=2)

    run_worker(container, clock, until=answered + timedelta(hours=3))
    sent = ada.received_after(mark)
    [(at, text)] = sent
    reminder, question = text.split("\n\n")
    assert at == answered + timedelta(hours=2)
    assert reminder.startswith(FIRST_REMINDER) and question.startswith("What budget")


def test_quiet_hours_hold_a_reminder_until_morning_in_the_prospects_zone(
    container: Container, clock: ControlledClock,
) -> None:
    clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)  # 20:30 in Paris, 19:30 in London
    marie, ada = Prospect(container, "105", lang="fr"), Prospect(container, "106")
    marie.say("/start", "logiciel")
    ada.say("/start", "software")
    marks = len(marie.received()), len(ada.received())

    run_worker(container, clock, until=datetime(2026, 11, 27, 0, 0, tzinfo=UTC))

    french, english = marie.received_after(marks[0]), ada.received_after(marks[1])
    # Due at 21:30 UTC: 22:30 in Paris is quiet until 08:00 Paris (07:00 UTC) …
    assert french[0][0] == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert french[0][1].startswith("Toujours là")
    # … and 21:30 in London waits for 08:00 London (08:00 UTC).
    assert english[0][0] == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    # The last reminder, a day after the last answer (20:30 Paris / 19:30 London), is not quiet.
    assert french[1][0] == english[1][0] == datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
    assert len(french) == len(english) == 2  # a reminder and its question are one message


def test_follow_ups_by_temperature_are_sent_once_and_their_buttons_count(
    container: Container, clock: ControlledClock,
) -> None:
    cold, warm = Prospect(container, "107"), Prospect(container, "108")
    cold.say(*COLD_COMPLETE)
    warm.say(*WARM_MQL)
    completed = clock.now
    assert (cold.lead().temperature, cold.lead().stage) == ("cold", "engaged")
    assert (warm.lead().temperature, warm.lead().stage) == ("warm", "mql")
    marks = len(cold.received()), len(warm.received())

    run_worker(container, clock, until=completed + timedelta(days=10), every=timedelta(hours=1))

    [(cold_at, cold_text, cold_buttons)] = cold.received()[marks[0]:]
    assert cold_at == completed + timedelta(days=3) and "buyer's guide" in cold_text
    assert cold_buttons == ["e:white_paper"]
    [(warm_at, warm_text, warm_buttons)] = warm.received()[marks[1]:]
    assert warm_at == completed + timedelta(days=2) and "Ready to talk?" in warm_text
    assert warm_buttons == ["e:case_study", "e:book_demo"]

    cold.tap("e:white_paper")
    assert "https://example.com/buyers-guide.pdf" in cold.received()[-1][1]
    assert cold.lead().score == 15 + 10
    cold.tap("e:white_paper")  # not repeatable: counted once
    assert cold.lead().score == 25

    warm.tap("e:case_study")  # 50
    warm.tap("e:book_demo")  # 80: sales-qualified by taps alone
    lead = warm.lead()
    assert (lead.score, lead.stage) == (80, "sql")
    with container.uow() as uow:
        alerts = uow.outbox.for_lead(lead.id, kind="slack_alert")
        actions = [(e.payload["action"], e.payload["via"]) for e in uow.session.scalars(
            select(LeadEvent).where(LeadEvent.lead_id == lead.id,
                                    LeadEvent.type == "engagement_recorded"))]
    assert len(alerts) == 1
    assert actions == [("case_study", "button"), ("book_demo", "button")]

    # Nothing more is owed to either: each follow-up went out once.
    assert run_worker(container, clock, until=clock.now + timedelta(days=30),
                      every=timedelta(hours=6)) == 0

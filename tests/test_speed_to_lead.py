"""Speed-to-lead SLA with a controlled clock: reminder at `claim_within`, escalation a period
later, once each across two workers and a restart; a claim stops both; only business hours count.

Workers are played by calling `take_due_sla_steps` (what each worker's job runs) from
two containers on the same database, at the same moments, in threads.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.bootstrap import Container
from bot.jobs import BackgroundJobs, JobOptions
from bot.slack.delivery import SlackDelivery, build_delivery_client
from bot.slack.lead_actions import claim_lead
from bot.slack.threads import ESCALATION_KIND, THREAD_KIND
from storage.models import OutboxMessage
from tests.conftest import ControlledClock
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi
from tests.sla_helpers import open_container, qualify, script_with_sla

SLA = {"claim_within": "10m", "remind": True, "escalate_to": "#sales-managers",
       "mention": ["U0REP0001", "U0REP0002"]}


def sla_posts(container: Container, lead_id: int) -> list[tuple[str, str, datetime, str]]:
    """(kind, destination, queued at, text) of the lead's reminder and escalation rows."""
    with container.uow() as uow:
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.lead_id == lead_id,
                   OutboxMessage.kind.in_([THREAD_KIND, ESCALATION_KIND]))
            .order_by(OutboxMessage.id)
        ).all()
        return [(r.kind, r.destination, r.created_at, str(r.payload.get("mrkdwn"))) for r in rows]


def tick_two_workers(a: Container, b: Container, clock: ControlledClock, *, until: datetime,
                     every: timedelta = timedelta(minutes=1)) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        while clock.now < until:
            clock.now = min(clock.now + every, until)
            list(pool.map(lambda c: c.service.take_due_sla_steps(), (a, b)))


def test_unclaimed_lead_is_reminded_then_escalated_once_across_two_workers_and_a_restart(
    database_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    script = script_with_sla(tmp_path, SLA)
    first, second = open_container(database_url, script, clock), open_container(database_url, script, clock)
    lead_id = qualify(first, "201")
    qualified = clock.now

    tick_two_workers(first, second, clock, until=qualified + timedelta(minutes=9))
    assert sla_posts(first, lead_id) == []  # not due yet
    tick_two_workers(first, second, clock, until=qualified + timedelta(minutes=14))
    first.close(), second.close()  # a restart between the reminder and the escalation
    first, second = open_container(database_url, script, clock), open_container(database_url, script, clock)
    tick_two_workers(first, second, clock, until=qualified + timedelta(hours=3))

    posts = sla_posts(first, lead_id)
    assert [(kind, dest, at) for kind, dest, at, _ in posts] == [
        (THREAD_KIND, "slack:#sales", qualified + timedelta(minutes=10)),
        (ESCALATION_KIND, "slack:#sales-managers", qualified + timedelta(minutes=20)),
    ]
    reminder, escalation = posts[0][3], posts[1][3]
    assert "<@U0REP0001> <@U0REP0002>" in reminder and "10 min" in reminder
    assert "Ada Lovelace (Analytical Engines)" in escalation and "20 min" in escalation
    with first.uow() as uow:
        clock_row = uow.sla_clocks.get(lead_id)
        assert clock_row is not None and clock_row.step == "done" and clock_row.next_due_at is None
    first.close(), second.close()


def test_a_claim_before_the_reminder_or_the_escalation_stops_what_is_left(
    database_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    container = open_container(database_url, script_with_sla(tmp_path, SLA), clock)
    early, late = qualify(container, "301"), None
    clock.advance(minutes=5)
    with container.uow() as uow:
        assert claim_lead(uow, lead_id=early, user_id="U0REP0001", user_name="rep", now=clock.now).won
        uow.commit()
    late = qualify(container, "302")
    tick_two_workers(container, container, clock, until=clock.now + timedelta(minutes=12))
    with container.uow() as uow:  # the late lead got its reminder; now it is claimed
        claim_lead(uow, lead_id=late, user_id="U0REP0002", user_name="rep", now=clock.now)
        uow.commit()
    tick_two_workers(container, container, clock, until=clock.now + timedelta(hours=2))

    assert sla_posts(container, early) == []
    assert [kind for kind, *_ in sla_posts(container, late)] == [THREAD_KIND]
    with container.uow() as uow:
        row = uow.sla_clocks.get(early)
        assert row is not None and row.step == "claimed" and row.claimed_at is not None
    container.close()


def test_nights_and_weekends_outside_business_hours_do_not_count(
    sqlite_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    hours = {"timezone": "Europe/Paris", "days": "mon-fri", "from": "09:00", "to": "18:00"}
    container = open_container(sqlite_url, script_with_sla(tmp_path, {**SLA, "business_hours": hours}), clock)
    clock.now = datetime(2026, 11, 27, 16, 55, tzinfo=UTC)  # Friday 17:55 in Paris
    lead_id = qualify(container, "401")
    tick_two_workers(container, container, clock, until=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
                     every=timedelta(minutes=5))

    posts = sla_posts(container, lead_id)
    # 5 minutes on Friday, 5 on Monday from 09:00 Paris (08:00 UTC); the escalation 10 later.
    assert [at for _, _, at, _ in posts] == [datetime(2026, 11, 30, 8, 5, tzinfo=UTC),
                                             datetime(2026, 11, 30, 8, 15, tzinfo=UTC)]
    container.close()


def test_rules_without_their_own_sla_use_the_scoring_default(
    sqlite_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    script = script_with_sla(tmp_path, None, default={"claim_within": "30m", "remind": True})
    container = open_container(sqlite_url, script, clock)
    lead_id = qualify(container, "501")
    qualified = clock.now
    tick_two_workers(container, container, clock, until=qualified + timedelta(hours=3))
    assert [(kind, at) for kind, _, at, _ in sla_posts(container, lead_id)] == [
        (THREAD_KIND, qualified + timedelta(minutes=30))]  # no escalate_to: a reminder only
    container.close()


async def test_the_reminder_goes_in_the_alert_thread_and_the_escalation_links_the_alert(
    sqlite_url: str, tmp_path: Path, clock: ControlledClock, fake_slack: FakeSlackApi,
) -> None:
    fake_slack.add_channel("C0MANAGERS", "sales-managers")
    container = open_container(sqlite_url, script_with_sla(tmp_path, SLA), clock)
    worker = SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        default_channel="#sales", script_provider=lambda: container.script.script,
    )
    lead_id = qualify(container, "601")
    while await worker.deliver_due():
        pass
    clock.advance(minutes=20)
    assert container.service.take_due_sla_steps() == 1  # the reminder (the escalation is due from now)
    assert container.service.take_due_sla_steps() == 1
    for _ in range(3):
        await worker.deliver_due()

    [alert] = [m for m in fake_slack.channel_messages("sales") if "thread_ts" not in m]
    [reminder] = fake_slack.thread_messages("sales", alert["ts"])
    assert reminder["text"].startswith("⏰ <@U0REP0001> <@U0REP0002> Ada Lovelace")
    [escalation] = fake_slack.channel_messages("sales-managers")
    assert "nobody has claimed it" in escalation["text"]
    assert f"<https://fake.slack.com/archives/{fake_slack_channel_id(fake_slack, 'sales')}/p" \
           f"{alert['ts'].replace('.', '')}|Open the alert>" in escalation["text"]
    assert lead_id
    container.close()


def fake_slack_channel_id(fake: FakeSlackApi, name: str) -> str:
    return next(cid for cid, channel in fake.state.channels.items() if channel == name)


async def test_the_background_jobs_take_due_sla_steps_on_their_own(
    sqlite_url: str, tmp_path: Path, clock: ControlledClock,
) -> None:
    container = open_container(sqlite_url, script_with_sla(tmp_path, SLA), clock)
    lead_id = qualify(container, "701")
    jobs = BackgroundJobs(service=container.service, slack=None, options=JobOptions(nudge_every=0.05))
    jobs.start()
    try:
        clock.advance(minutes=10)
        deadline = asyncio.get_running_loop().time() + 20
        while not sla_posts(container, lead_id):
            assert asyncio.get_running_loop().time() < deadline, "no reminder queued"
            await asyncio.sleep(0.05)
    finally:
        await jobs.stop()
    assert [kind for kind, *_ in sla_posts(container, lead_id)] == [THREAD_KIND]
    container.close()

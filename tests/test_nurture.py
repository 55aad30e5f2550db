"""Nurturing with a controlled clock: reminders, quiet hours, follow-ups, engagement, booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conversations.exchange import EngagementRecorded, Inbound, NudgeSent, StageChanged
from conversations.loader import parse_script
from conversations.nurture import Nudge, next_nudge
from conversations.turn import lead_facts
from tests.transcripts import DEFAULT_PATH, Transcript

HOT_NO_CONTACT = ["software", "about 120", "50k", "asap"]


def owed(t: Transcript) -> Nudge | None:
    """The next nudge, with the facts the engine itself would give the conditions."""
    return next_nudge(t.script, t.state, lead_facts(t.script, t.state, t.now)[1])


def nudge(t: Transcript, at: datetime) -> list[str]:
    t.now = at - timedelta(seconds=5)  # _send adds 5 s
    t._send(Inbound(kind="nudge"))
    return [r.text for r in t.replies]


def test_reminders_at_the_configured_times_then_no_more() -> None:
    t = Transcript()
    t.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday morning in London
    t.say("/start")
    t.say("software")
    stalled = t.now
    assert nudge(t, stalled + timedelta(hours=1)) == []  # not due yet
    texts = nudge(t, stalled + timedelta(hours=2, seconds=1))
    assert texts[0].startswith("Still there?") and "How many people" in texts[1]
    assert nudge(t, stalled + timedelta(hours=3)) == []  # the second is due after 1 day
    texts = nudge(t, stalled + timedelta(days=1, seconds=1))
    assert texts[0].startswith("One last nudge")
    assert nudge(t, stalled + timedelta(days=30)) == []  # two reminders, then silence
    assert [e.key for e in t.events_of(NudgeSent)] == ["reminder:0", "reminder:1"]


def test_a_reminder_answered_resumes_the_flow_and_the_sequence_restarts() -> None:
    t = Transcript()
    t.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    t.say("/start")
    t.say("software")
    nudge(t, t.now + timedelta(hours=2, seconds=1))
    t.say("45")
    assert t.asked == "budget" and t.state.answers["company_size"].option_id == "small"
    assert t.state.reminders_sent == 0
    due = owed(t)
    assert due is not None and due.key == "reminder:0"
    assert due.due_at == t.now + timedelta(hours=2)


def test_nothing_after_stop_forget_or_disqualification() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    t.say("/stop")
    assert owed(t) is None
    assert nudge(t, t.now + timedelta(days=2)) == []
    cold = Transcript()
    cold.say("/start")
    for text in ("school", "just me", "2000 euros", "just looking"):
        cold.say(text)
    assert cold.state.stage == "disqualified" and owed(cold) is None


def test_quiet_hours_move_a_reminder_to_the_morning_in_the_prospects_zone() -> None:
    t = Transcript(lang="fr")
    t.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)  # 20:30 in Paris
    t.say("/start")
    t.say("logiciel")
    due = owed(t)
    assert due is not None
    # 2 h later is 22:30 Paris time: quiet; sent at 08:00 Paris (07:00 UTC) the next day
    assert due.due_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert nudge(t, datetime(2026, 11, 25, 22, 0, tzinfo=UTC)) == []
    assert nudge(t, datetime(2026, 11, 26, 7, 0, 1, tzinfo=UTC))[0].startswith("Toujours là")


def test_follow_up_for_a_warm_lead_offers_buttons_that_count_as_engagement() -> None:
    t = Transcript()
    t.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    t.say("/start")
    for text in ("hospital", "45", "15k", "in 6 months"):  # 40 points: mql, warm
        t.say(text)
    t.say("Bob")
    t.say("Clinic")
    t.say("/stop")
    t.say("/start")  # resumes; completes below
    t.say("bob@clinic.org")
    t.say("skip")
    assert t.state.status == "completed"
    # sql needs 70: this lead stays mql
    assert t.state.stage == "mql"
    due = owed(t)
    assert due is not None and due.key == "follow_up:warm_case_study"
    texts = nudge(t, t.state.completed_at + timedelta(days=2, seconds=1))  # type: ignore[operator]
    assert "Ready to talk?" in texts[0]
    t.tap("Book a demo")  # +30 intent: 70 → sql
    assert t.events_of(EngagementRecorded)[-1].action == "book_demo"
    assert t.state.stage == "sql"
    assert [e.stage for e in t.events_of(StageChanged)][-1] == "sql"


def test_engagement_signals_decay_with_the_half_life() -> None:
    from conversations.turn import score_state

    t = Transcript()
    t.say("/start")
    t.say("software")
    start = t.now
    t._send(Inbound(kind="engagement", text="webinar_registration"))  # +15 intent
    assert score_state(t.script, t.state, t.now)[0].intent == 15
    assert score_state(t.script, t.state, t.now + timedelta(days=14))[0].intent == 8  # 7.5
    assert score_state(t.script, t.state, t.now + timedelta(days=28))[0].intent == 4
    # non-repeatable actions count once; repeatable ones each time
    t._send(Inbound(kind="engagement", text="webinar_registration"))
    t._send(Inbound(kind="engagement", text="email_open"))
    t._send(Inbound(kind="engagement", text="email_open"))
    assert score_state(t.script, t.state, t.now)[0].intent == 15 + 2 + 2
    assert t.now - start < timedelta(minutes=1)


def test_signals_can_take_a_lead_to_sql() -> None:
    t = Transcript()
    t.say("/start")
    for text in ["hospital", "45", "15k", "in 6 months", "Bob", "Clinic", "bob@clinic.org", "no"]:
        t.say(text)
    assert t.state.stage == "mql"
    t._send(Inbound(kind="engagement", text="webinar_registration"))
    assert t.state.stage == "mql" and t.replies == []  # silent: nothing sent to the prospect
    t._send(Inbound(kind="engagement", text="meeting_booked"))
    assert t.state.stage == "sql" and t.replies == []  # booked already: no booking offer


def test_a_lead_qualified_by_signals_after_the_chat_is_offered_the_booking_link() -> None:
    t = Transcript()
    t.say("/start")
    for text in ["hospital", "45", "15k", "in 6 months", "Bob", "Clinic", "bob@clinic.org", "no"]:
        t.say(text)
    for action in ("webinar_registration", "content_download", "content_download"):
        t._send(Inbound(kind="engagement", text=action))
    assert t.state.stage == "sql"
    assert "https://cal.com/your-team/demo?name=Bob&email=bob%40clinic.org" in t.text


def test_sql_lead_gets_the_booking_link_prefilled() -> None:
    t = Transcript()
    t.say("/start")
    for text in [*HOT_NO_CONTACT, "Ada Lovelace", "Engines", "ada@example.com", "skip"]:
        t.say(text)
    assert "https://cal.com/your-team/demo?name=Ada%20Lovelace&email=ada%40example.com" in t.text


def test_follow_up_actions_must_exist() -> None:
    import pytest

    from conversations.loader import ScriptError

    text = DEFAULT_PATH.read_text().replace("actions: [white_paper]", "actions: [whitepaper]")
    with pytest.raises(ScriptError, match="no engagement action 'whitepaper'"):
        parse_script(text, filename="s.yaml")
    text = DEFAULT_PATH.read_text().replace("after: 2h", "after: two hours")
    with pytest.raises(ScriptError, match="not a duration"):
        parse_script(text, filename="s.yaml")

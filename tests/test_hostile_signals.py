"""Prospects cannot forge engagement: a button counts only if the bot showed it in that chat.

`e:meeting_booked` sent to a chat that never saw such a button used to book a
meeting (+40 intent, MQL); `e:content_download` sent 15 times counted 15 times.
Signals without a label arrive only through the authenticated events API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from conversations.engine import offered_actions
from conversations.exchange import EngagementRecorded
from storage.models import LeadEvent
from tests.hostile import assert_prospect_answered, log_problems, settle_replies
from tests.test_nurture import nudge
from tests.transcripts import Transcript

SECRET = "hostile-signals-secret"


def warm_lead_with_a_follow_up() -> Transcript:
    t = Transcript()
    t.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for text in ("/start", "hospital", "45", "15k", "in 6 months", "Bob", "Clinic",
                 "bob@clinic.org", "skip"):
        t.say(text)
    assert t.state.status == "completed" and t.state.stage == "mql"
    return t


def test_a_button_never_shown_is_refused_by_the_engine() -> None:
    t = warm_lead_with_a_follow_up()
    assert offered_actions(t.script, t.state) == frozenset()
    before = t.state
    for token in ("e:meeting_booked", "e:content_download", "e:book_demo", "e:nope"):
        replies = t.tap_token(token)
        assert "earlier question" in replies[0].text
    assert t.events_of(EngagementRecorded) == []
    assert (t.state.stage, t.state.engagement) == (before.stage, before.engagement)


def test_a_shown_button_counts_once_and_a_second_tap_only_repeats_the_answer() -> None:
    t = warm_lead_with_a_follow_up()
    texts = nudge(t, t.state.completed_at + timedelta(days=2, seconds=1))  # type: ignore[operator]
    assert "Ready to talk?" in texts[0]
    assert offered_actions(t.script, t.state) == {"case_study", "book_demo"}
    t.tap("Read the case study")
    assert "https://example.com/case-study" in t.text
    score_after_first = len(t.state.engagement)
    for _ in range(14):
        again = t.tap_token("e:case_study")
        assert "https://example.com/case-study" in again[0].text  # the link again, gladly
    assert [e.action for e in t.events_of(EngagementRecorded)] == ["case_study"]
    assert len(t.state.engagement) == score_after_first
    # A label-less signal is never a button, even after a follow-up.
    t.tap_token("e:meeting_booked")
    assert [e.action for e in t.events_of(EngagementRecorded)] == ["case_study"]


@pytest.fixture
def container(database_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(database_url=database_url, telegram_bot_token=fake_telegram.token,
                           telegram_api_base_url=fake_telegram.base_url,
                           telegram_webhook_secret=SECRET))
    yield built
    built.close()


def _tap(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    message = text_update(update_id, chat_id, "Thanks!")["message"]
    message["from"] = {"id": 1234, "is_bot": True, "first_name": "Leadbot"}
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "chat_instance": "ci", "data": data, "message": message,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Ada"}}}


async def test_forged_signal_buttons_through_the_webhook_record_nothing(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    chat = 9100
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        headers = {SECRET_HEADER: SECRET}
        for update_id, text in enumerate(("/start", "software", "about 120"), 9100):
            assert (await client.post("/telegram/webhook", json=text_update(update_id, chat, text),
                                      headers=headers)).status_code == 200
        with container.uow() as uow:
            lead = uow.leads.by_chat("telegram", str(chat))
            assert lead is not None
            lead_id, score_before, stage_before = lead.id, lead.score, lead.stage
        taps = [_tap(9200, chat, "e:meeting_booked")] + [
            _tap(9201 + n, chat, "e:content_download") for n in range(15)]
        for tap in taps:
            assert (await client.post("/telegram/webhook", json=tap, headers=headers)
                    ).status_code == 200
        await settle_replies(container, fake_telegram)
        await assert_prospect_answered(client, fake_telegram, secret=SECRET, chat_id=9300,
                                       update_id=9300)
    with container.uow() as uow:
        lead = uow.leads.get(lead_id)
        assert lead is not None
        assert (lead.score, lead.stage) == (score_before, stage_before)
        recorded = uow.session.scalars(select(LeadEvent.type).where(
            LeadEvent.lead_id == lead_id)).all()
    assert "engagement_recorded" not in recorded
    assert log_problems(caplog) == []

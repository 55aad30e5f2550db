"""A routing rule naming a channel the bot cannot post in: the alert reaches the default
channel at once, saying which channel was meant and how to fix it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.bridge import queue_thread_relays
from conversations.exchange import MessageAfterFlow
from storage.unit_of_work import UnitOfWork
from tests.fakes.slack_api import FakeSlackApi
from tests.test_slack_delivery import delivery, statuses


@pytest.mark.parametrize(("setup", "fix"), [
    ("missing", "there is no channel #sales-hot the bot can see; create it and invite the bot"),
    ("not invited", "the bot is not in #sales-hot; in Slack, open #sales-hot and type `/invite @`"),
])
async def test_an_unusable_routed_channel_sends_the_alert_to_the_default_one_at_once(
    setup: str, fix: str, fake_slack: FakeSlackApi, slack_db: sessionmaker[Session],
    seed_lead: Any,
) -> None:
    if setup == "not invited":
        fake_slack.add_channel("C0HOT0001", "sales-hot", bot_is_member=False)
    lead_id = seed_lead(destination="slack:#sales-hot")
    assert await delivery(fake_slack, slack_db).deliver_due() == 1  # one pass, no retry
    assert [status for _, _, status in statuses(slack_db)] == ["delivered"]
    [alert] = fake_slack.channel_messages("sales")
    assert alert["text"].startswith("⚠️ This alert was meant for #sales-hot: ")
    assert fix in alert["text"]
    assert alert["blocks"][0]["type"] == "context" and fix in str(alert["blocks"][0])
    assert "Ada Lovelace" in str(alert["blocks"])
    assert fake_slack.channel_messages("sales-hot") == []

    # The conversation goes on where the alert is: its thread in the default channel.
    with UnitOfWork(slack_db) as uow:
        lead = uow.leads.get(lead_id)
        assert lead is not None
        queue_thread_relays(uow, lead, [MessageAfterFlow("Call me at 3")], lead.updated_at)
        uow.commit()
    assert await delivery(fake_slack, slack_db).deliver_due() == 1
    _, reply = fake_slack.channel_messages("sales")
    assert reply["thread_ts"] == alert["ts"] and "Call me at 3" in reply["text"]


async def test_without_a_default_channel_the_alert_waits_for_the_fix(
    fake_slack: FakeSlackApi, slack_db: sessionmaker[Session], seed_lead: Any,
) -> None:
    seed_lead(destination="slack:#sales-hot")
    assert await delivery(fake_slack, slack_db, channel=None).deliver_due() == 1
    assert [status for _, _, status in statuses(slack_db)] == ["pending"]
    assert fake_slack.all_messages() == []

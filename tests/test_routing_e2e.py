"""Routing on what the lead became, end to end: a hot Telegram prospect's alert lands in
the channel the script routes hot leads to (real python-telegram-bot against the fake
Telegram, real slack_sdk against the fake Slack, one SQLite file between them)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from bot.settings import DEFAULT_SCRIPT
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi

HOT = ["we sell accounting software", "about 120", "50k", "asap", "Ada Lovelace",
       "Analytical Engines", "ada@example.com", "skip"]


@pytest.fixture
def hot_routing_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled script, routing hot leads to #sales-hot (requested before the bot starts)."""
    script = yaml.safe_load(Path(DEFAULT_SCRIPT).read_text(encoding="utf-8"))
    script["routing"] = [
        {"when": {"temperature": ["hot"]}, "channel": "#sales-hot"},
        {"when": {"score_at_least": {"total": 40}}, "channel": "#sales-warm"},
    ]
    path = tmp_path / "hot-routing.yaml"
    path.write_text(yaml.safe_dump(script, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("LEADBOT_SCRIPT", str(path))
    return path


async def test_a_hot_telegram_prospect_is_alerted_in_the_hot_channel(
    hot_routing_script: Path, telegram_bot: Any, fake_slack: FakeSlackApi,
) -> None:
    fake_slack.add_channel("C0HOT0001", "sales-hot")
    fake_slack.add_channel("C0WARM001", "sales-warm")
    container = telegram_bot.container
    assert container.script.script.routing[0].channel == "#sales-hot"
    ada = telegram_bot.prospect(4242, first_name="Ada", username="ada_l", language_code="en")
    await ada.say("/start")
    for text in HOT:
        await ada.say(text)
    lead = telegram_bot.lead(4242)
    assert (lead.stage, lead.temperature) == ("sql", "hot")

    slack = SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        default_channel="#sales", script_provider=lambda: container.script.script,
        policy=DeliveryPolicy(lease=timedelta(seconds=5), backoff_base=0.05, backoff_max=0.3,
                              poll_interval=0.05),
    )
    assert await slack.deliver_due() == 1
    [alert] = fake_slack.channel_messages("sales-hot")
    assert "Ada Lovelace" in alert["text"]
    assert fake_slack.channel_messages("sales") == []
    assert fake_slack.channel_messages("sales-warm") == []

"""The whole bridge through both real libraries: a prospect on the fake Telegram (python-telegram-bot
long polling), sales on the fake Slack (Bolt + slack_sdk), one database between them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.slack.app import build_interactive_client, create_bolt_app, create_slack_asgi_app
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi
from tests.slack_signing import SIGNING_SECRET, signed_event

HOT = ["we sell accounting software", "about 120", "50k", "asap", "Ada Lovelace",
       "Analytical Engines", "ada@example.com"]


async def test_rep_and_prospect_talk_through_the_alert_thread(
    telegram_bot: Any, fake_slack: FakeSlackApi, serve_asgi: Any,
) -> None:
    container = telegram_bot.container
    ada = telegram_bot.prospect(4242, first_name="Ada", username="ada_l", language_code="en")
    await ada.say("/start spring-campaign")
    for text in HOT:
        await ada.say(text)
    await ada.say("skip")
    assert telegram_bot.lead(4242).stage == "sql"

    slack = SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        default_channel="#sales", script_provider=lambda: container.script.script,
        policy=DeliveryPolicy(lease=timedelta(seconds=5), backoff_base=0.05, backoff_max=0.3,
                              poll_interval=0.05),
    )
    assert await slack.deliver_due() == 1
    [alert] = [m for m in fake_slack.all_messages() if "thread_ts" not in m]
    assert "Ada Lovelace" in alert["text"]

    bolt = create_bolt_app(
        client=build_interactive_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        signing_secret=SIGNING_SECRET, session_factory=container.session_factory,
        script_provider=lambda: container.script.script, clock=lambda: datetime.now(UTC),
    )
    url = await serve_asgi(create_slack_asgi_app(bolt, signing_secret=SIGNING_SECRET))
    event = {"type": "message", "channel": "C0SALES01", "user": "U0SAM0001",
             # Slack escapes typed <, > and & and writes links as <url|label>
             "text": "Hi Ada, can we talk &lt;tomorrow&gt; at 10? <https://acme.example/deck|our deck>",
             "ts": f"{time.time():.6f}",
             "thread_ts": alert["ts"]}
    async with httpx.AsyncClient(trust_env=False) as http:
        for retry in (None, 1, 2):  # Slack retried the event twice: relayed once
            request = signed_event(event, event_id="Ev0BRIDGE", retry_num=retry)
            response = await http.post(url + "/slack/events", content=request.body,
                                       headers=request.headers)
            assert response.status_code == 200

    # The rep's words reach the prospect's Telegram chat, signed, exactly once.
    await ada.harness.fake.wait_for(
        lambda: any("— sam" in t for t in ada.fake.texts(4242)), timeout=15,
        what="the rep's reply on Telegram")
    await telegram_bot.settle()
    from_rep = [t for t in ada.fake.texts(4242) if "— sam" in t]
    assert from_rep == [
        "Hi Ada, can we talk <tomorrow> at 10? our deck (https://acme.example/deck)\n\n— sam"]

    # The prospect answers in Telegram; it comes back into the alert's thread.
    await ada.say("Yes, 10 works for me")
    assert await slack.deliver_due() == 1
    [reply] = fake_slack.thread_messages("sales", alert["ts"])
    assert "Yes, 10 works for me" in reply["text"]

"""The sales desk through signed HTTP requests: claim (and a claim race), disqualify, transcript,
slash commands, the thread bridge, and requests Slack did not sign (401, nothing changed).

Our Starlette app runs under uvicorn on 127.0.0.1, Bolt and slack_sdk are real and talk
to the fake Slack Web API; requests are signed exactly as Slack signs them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.alert import ACTION_CLAIM, ACTION_DISQUALIFY, ACTION_TRANSCRIPT
from bot.slack.app import build_interactive_client, create_bolt_app, create_slack_asgi_app
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from conversations.dsl import Script
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.models import Lead, LeadEvent, OutboxMessage
from storage.unit_of_work import UnitOfWork
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi
from tests.slack_signing import (
    SIGNING_SECRET,
    SignedRequest,
    sign,
    signed_block_action,
    signed_command,
    signed_event,
)

SAM, ALEX = ("U0SAM0001", "sam"), ("U0ALEX001", "alex")


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


class Desk:
    """One test's world: database, fake Slack with a posted alert, our app on uvicorn."""

    def __init__(self, db: sessionmaker[Session], fake: FakeSlackApi, url: str, lead_id: int) -> None:
        self.db, self.fake, self.url, self.lead_id = db, fake, url, lead_id
        [self.alert] = [m for m in fake.channel_messages("sales") if "thread_ts" not in m]

    async def post(self, request: SignedRequest) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False) as http:
            return await http.post(self.url + "/slack/events", content=request.body,
                                   headers=request.headers)

    def click(self, user: tuple[str, str], action: dict[str, Any], **kw: Any) -> SignedRequest:
        return signed_block_action(
            user_id=user[0], username=user[1], channel="C0SALES01", message_ts=self.alert["ts"],
            action=action, response_url=self.fake.response_url(), **kw,
        )

    def claim(self, user: tuple[str, str], **kw: Any) -> SignedRequest:
        return self.click(user, {"type": "button", "action_id": ACTION_CLAIM,
                                 "block_id": f"lead_actions:{self.lead_id}", "value": str(self.lead_id)}, **kw)

    def lead(self) -> Lead:
        with UnitOfWork(self.db) as uow:
            lead = uow.leads.get(self.lead_id)
            assert lead is not None
            uow.session.expunge(lead)  # keep its loaded values after the rollback on exit
            return lead

    def snapshot(self) -> tuple[Any, ...]:
        with UnitOfWork(self.db) as uow:
            lead = uow.leads.get(self.lead_id)
            events = uow.session.scalars(select(LeadEvent.id)).all()
            outbox = uow.session.scalars(select(OutboxMessage.id)).all()
            return (lead.owner_id, lead.stage, lead.disqualified_reason, len(events), len(outbox)) if lead else ()

    def current_alert(self) -> dict[str, Any]:
        return next(m for m in self.fake.channel_messages("sales") if m["ts"] == self.alert["ts"])


async def open_desk(
    db: sessionmaker[Session], fake: FakeSlackApi, serve_asgi: Any, seed_lead: Any,
    script: Script, **seed: Any,
) -> Desk:
    lead_id = seed_lead(db=db, **seed)
    worker = SlackDelivery(
        session_factory=db, client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake.base_url),
        default_channel="#sales", script_provider=lambda: script,
        policy=DeliveryPolicy(poll_interval=0.05),
    )
    assert await worker.deliver_due() == 1
    bolt = create_bolt_app(
        client=build_interactive_client(token=DEFAULT_TOKEN, base_url=fake.base_url),
        signing_secret=SIGNING_SECRET, session_factory=db, script_provider=lambda: script,
        clock=lambda: datetime.now(UTC),
    )
    url = await serve_asgi(create_slack_asgi_app(bolt, signing_secret=SIGNING_SECRET))
    return Desk(db, fake, url, lead_id)


@pytest.fixture
async def desk(slack_db: Any, fake_slack: FakeSlackApi, serve_asgi: Any, seed_lead: Any,
               default_script: Script) -> Desk:
    return await open_desk(slack_db, fake_slack, serve_asgi, seed_lead, default_script)


async def test_claim_sets_the_owner_and_updates_the_alert(desk: Desk) -> None:
    response = await desk.post(desk.claim(SAM))
    assert response.status_code == 200
    await eventually(lambda: desk.current_alert().get("edited", False))
    assert (desk.lead().owner_id, desk.lead().owner_name) == ("U0SAM0001", "sam")
    alert = desk.current_alert()
    assert ACTION_CLAIM not in str(alert["blocks"]) and "Claimed by <@U0SAM0001>" in str(alert["blocks"])
    assert "claimed by @sam" in alert["text"]


@pytest.fixture
def race_db(database_url: str) -> Any:
    engine = create_database_engine(database_url)
    migrate.upgrade(engine)
    yield create_session_factory(engine)
    engine.dispose()


async def test_two_reps_claiming_at_once_end_with_one_owner(
    race_db: Any, fake_slack: FakeSlackApi, serve_asgi: Any, seed_lead: Any, default_script: Script,
) -> None:
    desk = await open_desk(race_db, fake_slack, serve_asgi, seed_lead, default_script)
    responses = await asyncio.gather(desk.post(desk.claim(SAM)), desk.post(desk.claim(ALEX)))
    assert [r.status_code for r in responses] == [200, 200]
    await eventually(lambda: len(fake_slack.ephemerals) == 1 and desk.current_alert().get("edited"))
    owner = desk.lead().owner_id
    assert owner in (SAM[0], ALEX[0])
    [note] = fake_slack.ephemerals
    loser, winner_name = (ALEX[0], "sam") if owner == SAM[0] else (SAM[0], "alex")
    assert note["user"] == loser and note["text"] == f"Already claimed by @{winner_name}."
    await asyncio.sleep(0.3)
    assert len(fake_slack.calls_to("chat.update")) == 1
    with UnitOfWork(race_db) as uow:
        assert [e.type for e in uow.events.for_lead(desk.lead_id, types=["lead_claimed"])] == ["lead_claimed"]


async def test_disqualify_sets_stage_and_reason_and_updates_the_alert(desk: Desk) -> None:
    action = {"type": "static_select", "action_id": ACTION_DISQUALIFY,
              "block_id": f"lead_actions:{desk.lead_id}",
              "selected_option": {"text": {"type": "plain_text", "text": "No budget"},
                                  "value": f"{desk.lead_id}:no_budget"}}
    assert (await desk.post(desk.click(ALEX, action))).status_code == 200
    await eventually(lambda: desk.current_alert().get("edited", False))
    lead = desk.lead()
    assert (lead.stage, lead.disqualified_reason) == ("disqualified", "no_budget")
    blocks = str(desk.current_alert()["blocks"])
    assert "Disqualified by <@U0ALEX001>: No budget" in blocks and ACTION_CLAIM not in blocks


async def test_show_transcript_posts_the_conversation_in_the_alert_thread(desk: Desk) -> None:
    action = {"type": "button", "action_id": ACTION_TRANSCRIPT, "value": str(desk.lead_id),
              "block_id": f"lead_actions:{desk.lead_id}"}
    assert (await desk.post(desk.click(SAM, action))).status_code == 200
    await eventually(lambda: bool(desk.fake.thread_messages("sales", desk.alert["ts"])))
    [posted] = desk.fake.thread_messages("sales", desk.alert["ts"])
    text = str(posted["blocks"])
    assert "Which sector is your company in?" in text and "we sell accounting software" in text


@pytest.mark.parametrize("forgery", ["wrong secret", "unsigned", "replayed"])
async def test_requests_not_signed_by_slack_get_401_and_change_nothing(
    desk: Desk, forgery: str
) -> None:
    before = desk.snapshot()
    if forgery == "wrong secret":
        request = desk.claim(SAM, secret="not-the-secret")
    elif forgery == "replayed":
        request = desk.claim(SAM, timestamp=int(time.time()) - 301)
    else:
        signed = desk.claim(SAM)
        request = SignedRequest(signed.body, {"Content-Type": signed.headers["Content-Type"]})
    response = await desk.post(request)
    assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert desk.snapshot() == before
    for method in ("chat.update", "chat.postEphemeral", "users.info", "auth.test"):
        assert desk.fake.calls_to(method) == [], method


async def test_leads_command_lists_latest_and_mine(desk: Desk) -> None:
    response = await desk.post(signed_command("/leads", "", user_id=SAM[0], username="sam",
                                              response_url=desk.fake.response_url("all")))
    assert response.status_code == 200
    await eventually(lambda: any(r["name"] == "all" for r in desk.fake.responses))
    [listing] = [r for r in desk.fake.responses if r["name"] == "all"]
    assert f"#{desk.lead_id}" in listing["text"] and "Ada Lovelace" in listing["text"]
    assert "unclaimed" in listing["text"]
    await desk.post(signed_command("/leads", "mine", user_id=SAM[0], username="sam",
                                   response_url=desk.fake.response_url("mine")))
    await eventually(lambda: any(r["name"] == "mine" for r in desk.fake.responses))
    [mine] = [r for r in desk.fake.responses if r["name"] == "mine"]
    assert "Nothing yet" in mine["text"]


async def test_lead_command_shows_one_card_by_username(desk: Desk) -> None:
    await desk.post(signed_command("/lead", "@ada", user_id=SAM[0], username="sam",
                                   response_url=desk.fake.response_url("one")))
    await eventually(lambda: any(r["name"] == "one" for r in desk.fake.responses))
    [card] = [r for r in desk.fake.responses if r["name"] == "one"]
    assert "Ada Lovelace" in str(card["blocks"]) and ACTION_CLAIM not in str(card["blocks"])


def thread_reply(desk: Desk, text: str, *, user: str = SAM[0], **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C0SALES01", "user": user, "text": text,
            "ts": f"{time.time():.6f}", "thread_ts": desk.alert["ts"], "channel_type": "channel",
            **extra}


def telegram_rows(desk: Desk) -> list[OutboxMessage]:
    with UnitOfWork(desk.db) as uow:
        rows = list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "telegram")))
        uow.session.expunge_all()
        return rows


async def test_a_rep_thread_reply_is_queued_for_the_prospect_once_even_when_retried(
    desk: Desk,
) -> None:
    event = thread_reply(desk, "Hi Ada &amp; team, free for a call at <https://cal.example/x|my calendar>?")
    first = await desk.post(signed_event(event, event_id="Ev0THREAD1"))
    retry = await desk.post(signed_event(event, event_id="Ev0THREAD1", retry_num=1))
    assert (first.status_code, retry.status_code) == (200, 200)
    await eventually(lambda: len(telegram_rows(desk)) == 1)
    await asyncio.sleep(0.5)
    [row] = telegram_rows(desk)
    lead = desk.lead()
    assert row.destination == f"telegram:{lead.chat_id}"
    assert row.payload["text"] == (
        "Hi Ada & team, free for a call at my calendar (https://cal.example/x)?\n\n— sam"
    )
    assert row.payload["choices"] == [] and row.payload["question_id"] is None


async def test_bot_messages_and_stopped_prospects_are_not_relayed(
    fake_slack: FakeSlackApi, slack_db: Any, serve_asgi: Any, seed_lead: Any,
    default_script: Script,
) -> None:
    desk = await open_desk(slack_db, fake_slack, serve_asgi, seed_lead, default_script, stopped=True)
    await desk.post(signed_event(thread_reply(desk, "from a bot", bot_id="B0OTHER"), event_id="Ev0B"))
    await desk.post(signed_event(thread_reply(desk, "are you there?"), event_id="Ev0S"))
    await eventually(lambda: len(fake_slack.ephemerals) == 1)
    assert "stopped" in fake_slack.ephemerals[0]["text"]
    assert telegram_rows(desk) == []


async def test_url_verification_is_answered(desk: Desk) -> None:
    body = '{"token": "legacy", "challenge": "c-123", "type": "url_verification"}'
    response = await desk.post(sign(body, content_type="application/json"))
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def test_the_manifest_points_every_feature_at_our_endpoint() -> None:
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "slack-app-manifest.yaml").read_text()
    )
    commands = {c["command"]: c["url"] for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/leads", "/lead"}
    urls = {*commands.values(), manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"]}
    assert all(url.endswith("/slack/events") for url in urls)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "users:read", "channels:history"} <= scopes
    assert "message.channels" in manifest["settings"]["event_subscriptions"]["bot_events"]

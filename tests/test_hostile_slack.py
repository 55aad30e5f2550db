"""Hostile requests at `/slack/events`, on SQLite and PostgreSQL.

Unsigned junk is refused (401/413) before anything parses it and is never logged;
signed but malformed bodies get 400; slash commands with odd references answer
the rep instead of crashing; a crafted action cannot reach another lead's card;
and a prospect's company cannot mention @channel or plant a link in any text.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.alert import ACTION_CLAIM
from bot.slack.interactions import NOT_THIS_ALERT
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.unit_of_work import UnitOfWork
from tests.fakes.slack_api import FakeSlackApi
from tests.hostile import log_problems
from tests.slack_signing import SIGNING_SECRET, sign, signed_command
from tests.test_slack_app import SAM, Desk, eventually, open_desk

FORM = "application/x-www-form-urlencoded"
INJECTION = "<!channel> <https://evil.example|Click here> <@U0SAM0001> & co"


@pytest.fixture
def db(database_url: str) -> Any:
    engine = create_database_engine(database_url)
    migrate.upgrade(engine)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
async def desk(db: Any, fake_slack: FakeSlackApi, serve_asgi: Any, seed_lead: Any,
               default_script: Any) -> Desk:
    return await open_desk(db, fake_slack, serve_asgi, seed_lead, default_script,
                           company=INJECTION)


def snapshot(db: Any) -> Any:
    from tests.hostile import snapshot as every_row

    class _Container:
        def uow(self) -> UnitOfWork:
            return UnitOfWork(db)

    return every_row(_Container())


def unsigned(body: bytes, content_type: str = "application/json",
             timestamp: str | None = None, signature: str = "v0=" + "0" * 64) -> dict[str, Any]:
    headers = {"Content-Type": content_type, "X-Slack-Signature": signature,
               "X-Slack-Request-Timestamp": timestamp or str(int(time.time()))}
    return {"content": body, "headers": headers}


def signed(body: str, content_type: str = "application/json", **kw: Any) -> dict[str, Any]:
    request = sign(body, content_type=content_type, **kw)
    return {"content": request.body, "headers": request.headers}


def forged_timestamp(value: str) -> dict[str, Any]:
    """A body signed with a timestamp that is not a plain number of seconds."""
    from slack_sdk.signature import SignatureVerifier

    body = '{"type": "event_callback"}'
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=value, body=body)
    request = unsigned(body.encode(), signature=signature or "")
    request["headers"]["X-Slack-Request-Timestamp"] = value.encode("utf-8")  # raw header bytes
    return request


def hostile_requests() -> list[tuple[str, dict[str, Any], int]]:
    deep = "[" * 100_000 + "]" * 100_000
    return [
        ("unsigned {nope", unsigned(b"{nope"), 401),
        ("unsigned deep nesting", unsigned(deep.encode()), 401),
        ("unsigned garbage payload", unsigned(b"payload=%7B%7B%7B", FORM), 401),
        ("unsigned body with a forged log line",
         unsigned(b'{"a": "x\n2026-01-01 INFO bot: forged line"}'), 401),
        ("unsigned non-UTF-8", unsigned(b"\xff\xfe{}"), 401),
        ("no signature headers", {"content": b"{}", "headers": {"Content-Type": "application/json"}},
         401),
        ("timestamp not a number", forged_timestamp("soon"), 401),
        ("timestamp in exponent form", forged_timestamp("1e10"), 401),
        ("timestamp in full-width digits", forged_timestamp("１７００００００００"), 401),
        ("timestamp negative", forged_timestamp("-5"), 401),
        ("timestamp of 100 digits", forged_timestamp("9" * 100), 401),
        ("a 2 MB unsigned body", unsigned(b"{" + b" " * 2_000_000 + b"}"), 413),
        ("signed {nope", signed("{nope"), 400),
        ("signed deep nesting", signed('{"a": ' + "[" * 5000 + "]" * 5000 + "}"), 400),
        ("signed garbage payload", signed("payload=%7B%7B%7B", FORM), 400),
        ("signed payload that is a list", signed("payload=%5B1%5D", FORM), 400),
        ("signed JSON array", signed("[1, 2]"), 400),
    ]


async def test_hostile_slack_requests_are_refused_and_change_nothing(
    desk: Desk, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    before = snapshot(db)
    outcomes = []
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for name, request, status in hostile_requests():
            response = await http.post(desk.url + "/slack/events", **request)
            outcomes.append((name, response.status_code, status))
    assert [o for o in outcomes if o[1] != o[2]] == []
    assert snapshot(db) == before
    assert "forged line" not in caplog.text  # bodies are never logged
    assert log_problems(caplog) == []
    # Still serving the sales desk: a real claim goes through.
    assert (await desk.post(desk.claim(SAM))).status_code == 200
    await eventually(lambda: desk.lead().owner_id == SAM[0])
    assert log_problems(caplog) == []


@pytest.mark.parametrize(("text", "answer"), [
    ("²", "No lead matches ²."),
    ("999999999999999999999999999999", "No lead matches 999999999999999999999999999999."),
    ("-1", "No lead matches -1."),
    ("nul\x00byte", "Usage: `/lead 42`"),
    ("line\nbreak", "Usage: `/lead 42`"),
    ("<!channel>", "No lead matches &lt;!channel&gt;."),
])
async def test_lead_command_answers_odd_references_instead_of_crashing(
    desk: Desk, caplog: pytest.LogCaptureFixture, text: str, answer: str
) -> None:
    response = await desk.post(signed_command("/lead", text, user_id=SAM[0], username="sam",
                                              response_url=desk.fake.response_url("odd")))
    assert response.status_code == 200
    await eventually(lambda: any(r["name"] == "odd" for r in desk.fake.responses))
    [reply] = [r for r in desk.fake.responses if r["name"] == "odd"]
    assert reply["text"].startswith(answer)
    assert log_problems(caplog) == []


async def test_a_signed_action_for_another_lead_cannot_touch_this_alert(
    desk: Desk, db: Any, seed_lead: Any, caplog: pytest.LogCaptureFixture
) -> None:
    other = seed_lead(db=db, name="Eve Mallory", company="Other", alert=False)
    before = snapshot(db)
    forged = desk.click(SAM, {"type": "button", "action_id": ACTION_CLAIM,
                              "block_id": f"lead_actions:{desk.lead_id}", "value": str(other)})
    assert (await desk.post(forged)).status_code == 200
    await eventually(lambda: len(desk.fake.ephemerals) == 1)
    assert desk.fake.ephemerals[0]["text"] == NOT_THIS_ALERT
    assert snapshot(db) == before
    assert not desk.current_alert().get("edited")
    assert log_problems(caplog) == []


async def test_prospect_text_cannot_mention_or_link_in_any_slack_text(desk: Desk) -> None:
    """The company is `<!channel> <https://evil.example|Click here> <@U0SAM0001> & co`."""
    alert = desk.current_alert()
    await desk.post(signed_command("/lead", str(desk.lead_id), user_id=SAM[0], username="sam",
                                   response_url=desk.fake.response_url("card")))
    await eventually(lambda: any(r["name"] == "card" for r in desk.fake.responses))
    [card] = [r for r in desk.fake.responses if r["name"] == "card"]
    for where, text in (("alert text", alert["text"]), ("alert blocks", mrkdwn(alert["blocks"])),
                        ("/lead text", card["text"]), ("/lead blocks", mrkdwn(card["blocks"]))):
        assert "<!channel>" not in text and "<https://evil" not in text, where
        assert "<@U0SAM0001>" not in text, where
        assert "&lt;!channel&gt;" in text and "&amp; co" in text, where


def mrkdwn(blocks: Any) -> str:
    """Every mrkdwn text of a message's blocks (plain_text is shown verbatim by Slack)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "mrkdwn":
                found.append(str(value.get("text", "")))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def test_form_helper_is_what_slack_sends() -> None:
    # Guard for the cases above: a form body with a payload field, URL-encoded.
    assert urlencode({"payload": "{"}) == "payload=%7B"

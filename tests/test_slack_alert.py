"""The alert card: content, escaping and Block Kit limits (pure functions, no Slack)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.slack.alert import (
    ACTION_CLAIM,
    ACTION_DISQUALIFY,
    ACTION_TRANSCRIPT,
    AlertCard,
    AnswerLine,
    alert_blocks,
    alert_fallback_text,
    escape_mrkdwn,
    format_duration,
    render_alert_text,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def card(**changes: object) -> AlertCard:
    base = AlertCard(
        lead_id=7, stage="sql", name="Ada Lovelace", username="ada", company="Analytical Engines",
        email="ada@example.com", phone="+44 20 7946 0000", source="spring-campaign", score=85,
        fit=45, intent=40, temperature="hot",
        reasons=("budget 50 k€: +25", "wants it now: +30", "software: +20"),
        answers=(
            AnswerLine("Sector", "we sell accounting software", "Software & SaaS"),
            AnswerLine("Budget", "50k", "20 000 – 99 999 €"),
        ),
        first_message_at=T0, qualified_at=T0 + timedelta(minutes=4),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def all_text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn string (plain_text is never parsed for links or mentions)."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [str(node["text"])]
        return [t for value in node.values() for t in mrkdwn_texts(value)]
    return []


def test_the_card_shows_who_what_score_why_source_and_time() -> None:
    text = all_text(alert_blocks(card()))
    for expected in ("Ada Lovelace", "@ada", "Analytical Engines", "ada@example.com",
                     "+44 20 7946 0000", "Software & SaaS — “we sell accounting software”",
                     "85 (fit 45 · intent 40)", "hot", "budget 50 k€: +25", "spring-campaign",
                     "4 min"):
        assert expected.replace("&", "&amp;") in text or expected in text, expected


def test_buttons_claim_disqualify_with_reasons_and_transcript() -> None:
    actions = alert_blocks(card())[-1]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == [ACTION_CLAIM, ACTION_DISQUALIFY, ACTION_TRANSCRIPT]
    select = actions["elements"][1]
    assert len(select["options"]) >= 3 and all(o["value"].startswith("7:") for o in select["options"])


def test_claimed_card_has_no_claim_button_and_names_the_owner() -> None:
    blocks = alert_blocks(card(owner_id="U0SAM0001", owner_name="sam"))
    assert ACTION_CLAIM not in all_text(blocks)
    assert "Claimed by <@U0SAM0001>" in all_text(blocks)
    assert "claimed by @sam" in alert_fallback_text(card(owner_id="U0SAM0001", owner_name="sam"))


def test_disqualified_card_keeps_only_the_transcript_button() -> None:
    blocks = alert_blocks(card(stage="disqualified", disqualified_reason="no_budget"))
    ids = [e["action_id"] for e in blocks[-1]["elements"]]
    assert ids == [ACTION_TRANSCRIPT]
    assert "No budget" in all_text(blocks)


def test_prospect_text_is_escaped_for_mrkdwn() -> None:
    hostile = "<!channel> <https://evil.example|click> & co"
    blocks = alert_blocks(card(name=hostile, answers=(AnswerLine("Sector", hostile, None),)))
    text = "\n".join(mrkdwn_texts(blocks))
    assert "<!channel>" not in text and "<https://evil" not in text
    assert escape_mrkdwn(hostile) in text


def test_mentioned_rep_is_shown_until_claimed() -> None:
    assert "<@U0KIM0001>" in all_text(alert_blocks(card(rep_id="U0KIM0001")))


def test_terminal_rendering_has_the_essentials() -> None:
    text = render_alert_text(card())
    assert "Ada Lovelace" in text and "we sell accounting software" in text and "85" in text


def test_format_duration() -> None:
    assert format_duration(T0, T0 + timedelta(seconds=42)) == "42 s"
    assert format_duration(T0, T0 + timedelta(hours=2, minutes=5)) == "2 h 05 min"
    assert format_duration(T0, T0 + timedelta(days=3)) == "3 days"
    assert format_duration(None, T0) is None


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(min_size=0, max_size=5000),
    answers=st.lists(st.text(min_size=1, max_size=4000), max_size=80),
    reasons=st.lists(st.text(max_size=3000), max_size=30),
)
def test_any_card_stays_within_block_kit_limits(
    name: str, answers: list[str], reasons: list[str]
) -> None:
    blocks = alert_blocks(card(
        name=name or None, company=name or None, email=name or None,
        answers=tuple(AnswerLine(f"Q{i}", words, words[:50]) for i, words in enumerate(answers)),
        reasons=tuple(reasons),
    ))
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # slack_sdk's own validators raise on any limit
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "section" and "fields" in block:
            assert len(block["fields"]) <= 10
            assert all(len(f["text"]) <= 2000 for f in block["fields"])
    assert len(alert_fallback_text(card(name=name or None))) <= 3000


def test_the_card_shows_how_long_the_lead_has_waited_and_how_fast_it_was_claimed() -> None:
    qualified = T0 + timedelta(minutes=4)
    waiting = all_text(alert_blocks(card()))
    assert f"<!date^{int(qualified.timestamp())}^since {{ago}}|since" in waiting
    claimed = all_text(alert_blocks(card(owner_id="U0SAM0001", claimed_at=qualified + timedelta(minutes=7))))
    assert "Claimed by <@U0SAM0001> after 7 min" in claimed and "{ago}" not in claimed

"""The preview chat runs the real engine on a draft and shows what sales would get."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.studio.preview import (
    PreviewSession,
    preview_card,
    preview_turn,
    start_preview,
)
from bot.studio.slack_card import card_view, mrkdwn_to_html
from conversations.exchange import Inbound
from conversations.loader import load_script

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SCRIPT = load_script(Path(__file__).parent.parent / "conversations/scripts/default.yaml").script


def say(session: PreviewSession, text: str) -> PreviewSession:
    return preview_turn(SCRIPT, session, Inbound.parse_text(text), now=NOW)


def tap(session: PreviewSession, label: str) -> PreviewSession:
    token = next(b.token for b in session.active_buttons if b.label == label)
    return preview_turn(SCRIPT, session, Inbound(kind="choice", choice=token), now=NOW)


def test_a_prospect_reaches_sql_and_the_card_shows_their_answers() -> None:
    session = start_preview(SCRIPT, lang="en", now=NOW)
    # One bubble, as on Telegram: the greeting, the privacy notice and the question.
    [prospect, opening] = session.lines
    assert (prospect.who, prospect.text, opening.who) == ("prospect", "/start", "bot")
    greeting, privacy, question = opening.text.split("\n\n")
    assert greeting.startswith("Hi Sam!") and "/forget" in privacy
    assert question == "Which sector is your company in?"
    assert "Software & SaaS" in [b.label for b in session.active_buttons]
    session = tap(session, "Software & SaaS")
    assert session.standing is not None and session.standing.fit == 20
    for answer in ("about 120 people", "50k", "asap", "Ada Lovelace", "Analytical Engines",
                   "ada@example.com", "skip"):
        session = say(session, answer)
    assert session.standing is not None
    assert (session.standing.stage, session.standing.temperature) == ("sql", "hot")
    assert any(line.stage_changed and line.standing and line.standing.stage == "sql"
               for line in session.lines)
    card = preview_card(SCRIPT, session, NOW)
    assert card is not None and card.name == "Ada Lovelace" and card.email == "ada@example.com"
    view = card_view(card)
    assert "Qualified lead: Ada Lovelace — Analytical Engines" in view.header
    answers = " ".join(view.sections)
    assert "<strong>Company size</strong>: 51–200 — “about 120 people”" in answers
    assert view.buttons == ("Claim", "Disqualify…", "Show transcript")


def test_no_card_before_the_lead_is_qualified() -> None:
    session = say(start_preview(SCRIPT, lang="en", now=NOW), "software")
    assert preview_card(SCRIPT, session, NOW) is None


def test_did_you_mean_offers_buttons_and_the_language_switch_works() -> None:
    session = start_preview(SCRIPT, lang="en", now=NOW)
    session = say(session, "/lang fr")
    assert session.lines[-1].text == "Je parlerai français.\n\nDans quel secteur est votre entreprise ?"
    assert session.lines[-2].who == "prospect"  # one bubble for the turn
    session = say(session, "logicel")  # a typo: close to a label, not certain
    labels = [b.label for b in session.active_buttons]
    if session.standing is None:  # not accepted outright: the engine asked
        assert "Aucun de ceux-là" in labels
        session = tap(session, labels[0])
    assert session.standing is not None and session.standing.stage == "engaged"
    assert session.state is not None and session.state.lang == "fr"


def test_prospect_markup_is_kept_as_text_in_the_card() -> None:
    session = start_preview(SCRIPT, lang="en", now=NOW)
    for answer in ("<b>software</b>", "120", "50k", "asap", "<script>alert(1)</script>",
                   "ACME & <i>Co</i>", "ada@example.com", "skip"):
        session = say(session, answer)
    card = preview_card(SCRIPT, session, NOW)
    assert card is not None
    view = card_view(card)
    html = view.header + " ".join(view.fields) + " ".join(view.sections)
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "ACME &amp; &lt;i&gt;Co&lt;/i&gt;" in html


def test_mrkdwn_becomes_escaped_html() -> None:
    assert mrkdwn_to_html("*Score*\n95 &lt;b&gt; <@U123> <!date^1^{x}|2026-01-01>") == (
        "<strong>Score</strong><br>95 &lt;b&gt; @U123 2026-01-01")


def test_a_draft_that_dropped_the_current_question_starts_over() -> None:
    session = start_preview(SCRIPT, lang="en", now=NOW)
    assert session.state is not None
    gone = session.state.model_copy(update={"current": "no_such_question"})
    session = preview_turn(SCRIPT, session.model_copy(update={"state": gone}),
                           Inbound.parse_text("software"), now=NOW)
    assert session.state is not None and session.state.status == "active"


def _bot_lines_added(before: PreviewSession, after: PreviewSession) -> list[str]:
    return [line.text for line in after.lines[len(before.lines):] if line.who == "bot"]


def test_each_turn_is_one_bubble_as_on_telegram() -> None:
    session = start_preview(SCRIPT, lang="en", now=NOW)
    assert len(_bot_lines_added(PreviewSession(), session)) == 1
    re_asked = say(session, "qwertyuiop")
    assert _bot_lines_added(session, re_asked) == [
        "Sorry, I didn't catch that.\nWhich sector is your company in?"]
    typed = say(re_asked, "we build SaaS software")
    assert _bot_lines_added(re_asked, typed) == ["How many people work at your company?"]
    # A tap: the confirmation Telegram writes into the tapped question, then the next one.
    tapped = tap(typed, "51–200")
    assert _bot_lines_added(typed, tapped) == ["✓ 51–200", "What budget do you have in mind for this project?"]
    assert tapped.active_buttons  # the new question's buttons
    welcomed = say(tapped, "/start")
    assert _bot_lines_added(tapped, welcomed) == [
        "Welcome back!\n\nWhat budget do you have in mind for this project?"]
    assert welcomed.active_buttons == tapped.active_buttons

"""The sales card speaks the team's language: one alert language for the workspace
(`alerts.language`, by default the script's first), the prospect's own words quoted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import DEFAULT_SCRIPT, Settings
from bot.slack.alert import (
    AlertCard,
    alert_blocks,
    alert_fallback_text,
    render_alert_text,
    why_lines,
)
from bot.slack.card_source import load_alert_card
from conversations.exchange import Inbound
from conversations.loader import ScriptError, parse_script

FRENCH_HOT = ["nous vendons un logiciel de compta", "environ 120", "50k", "dès que possible",
              "Ada Lovelace", "Analytical Engines", "ada@example.com", "passer"]
ENGLISH_HOT = ["we sell accounting software", "about 120", "50k", "asap", "Ada Lovelace",
               "Analytical Engines", "ada@example.com", "skip"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def script_file(tmp_path: Path, alerts_language: str | None) -> Path:
    data = yaml.safe_load(DEFAULT_SCRIPT.read_text(encoding="utf-8"))
    if alerts_language:
        data["alerts"] = {"language": alerts_language}
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[[str | None], Container]]:
    apps: list[Container] = []

    def make(alerts_language: str | None) -> Container:
        app = build(Settings(database_url=f"sqlite:///{tmp_path / 'cards.db'}"),
                    script_path=script_file(tmp_path, alerts_language), clock=Clock())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


def qualify(app: Container, lang: str, answers: list[str]) -> tuple[str, str]:
    """A prospect chatting in `lang` reaches SQL; returns (card blocks, card as text)."""
    key = ConversationKey("telegram", f"chat-{lang}")
    profile = Profile(first_name="Ada", language_code=lang)
    app.service.handle_message(key, Inbound(kind="command", command="start"), message_id=None,
                               profile=profile)
    for text in answers:
        app.service.handle_message(key, Inbound.parse_text(text), message_id=None,
                                   profile=profile)
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", f"chat-{lang}")
        assert lead is not None and lead.stage == "sql", lead and lead.stage
        card = load_alert_card(uow, lead.id, app.script.script)
    assert card is not None
    return str(alert_blocks(card)), render_alert_text(card)


def test_a_french_leads_card_is_in_the_teams_language_quoting_the_prospect(
    make_app: Callable[[str | None], Container],
) -> None:
    blocks, text = qualify(make_app(None), "fr", FRENCH_HOT)
    # Labels and reasons in English (the script's first language), the words as typed.
    assert "Software &amp; SaaS — “nous vendons un logiciel de compta”" in blocks
    assert "sector Software &amp; SaaS “nous vendons un logiciel de compta”: +" in blocks
    assert "urgency" in blocks and "“dès que possible”" in blocks
    assert "Logiciel" not in blocks and "Logiciel" not in text
    assert "+ sector Software & SaaS “nous vendons un logiciel de compta”: +" in text


def test_alerts_language_sets_the_cards_language_whatever_the_prospects(
    make_app: Callable[[str | None], Container],
) -> None:
    blocks, _ = qualify(make_app("fr"), "en", ENGLISH_HOT)
    assert "Logiciel &amp; SaaS — “we sell accounting software”" in blocks
    assert "sector Logiciel &amp; SaaS “we sell accounting software”: +" in blocks
    assert "Software &amp; SaaS" not in blocks


def test_the_why_section_shows_every_reason_or_says_how_many_more() -> None:
    ten = tuple(f"reason {i}" for i in range(10))
    assert why_lines(ten) == list(ten)
    twelve = tuple(f"reason {i}" for i in range(12))
    assert why_lines(twelve) == [*twelve[:9], "+3 more"]


def test_an_alert_language_the_script_has_no_texts_in_is_refused() -> None:
    text = 'id: x\nlanguages: [en]\ngreeting: "Hi"\nalerts: {language: fr}\n' \
           'questions:\n  - {id: q, type: text, ask: "Q?"}\n'
    with pytest.raises(ScriptError) as caught:
        parse_script(text, filename="x.yaml")
    assert "alerts in fr but the script's texts are in en" in str(caught.value)
    assert "x.yaml:4" in str(caught.value)


# The card's own words (headings, buttons, status) that must not survive in a French card.
ENGLISH_FRAME = ("Qualified lead", "*Contact*", "*Company*", "Temperature", "Qualified in",
                 "*Answers*", "*Why*", '"Claim"', "Disqualify…", "Show transcript",
                 "Waiting for an owner", "No budget", "fit ", "intent ", "since {ago}",
                 "claimed", "hot")  # "Score" and "Source" are French words too


def card_of(app: Container, lang: str, answers: list[str]) -> AlertCard:
    qualify(app, lang, answers)
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", f"chat-{lang}")
        assert lead is not None
        card = load_alert_card(uow, lead.id, app.script.script)
    assert card is not None
    return card


def test_a_french_teams_card_has_french_headings_buttons_and_notification(
    make_app: Callable[[str | None], Container],
) -> None:
    card = card_of(make_app("fr"), "en", ENGLISH_HOT)
    blocks, fallback = json.dumps(alert_blocks(card), ensure_ascii=False), alert_fallback_text(card)
    for french in ("Lead qualifié", "*Coordonnées*", "*Entreprise*", "*Température*",
                   "*Réponses*", "*Pourquoi*", '"Je le prends"', "Disqualifier…",
                   "Voir la conversation", "Pas de budget", "⏳ En attente d'un responsable",
                   "adéquation", "chaud"):
        assert french in blocks, french
    assert "“we sell accounting software”" in blocks  # the prospect's words, as typed
    assert fallback.startswith("Lead qualifié: Ada Lovelace (Analytical Engines) — score ")
    assert fallback.endswith(", chaud")
    for english in ENGLISH_FRAME:
        assert english not in blocks, english
        assert english not in fallback, english
    text = render_alert_text(card)
    assert "[Je le prends] [Disqualifier…] [Voir la conversation]" in text
    assert "Qui: Ada Lovelace" in text and "Who:" not in text


def test_an_english_teams_card_keeps_its_english_frame(
    make_app: Callable[[str | None], Container],
) -> None:
    card = card_of(make_app(None), "fr", FRENCH_HOT)
    blocks, fallback = json.dumps(alert_blocks(card), ensure_ascii=False), alert_fallback_text(card)
    for english in ("Qualified lead", "*Contact*", "*Company*", "*Temperature*", "*Answers*",
                    "*Why*", '"Claim"', "Disqualify…", "Show transcript", "No budget",
                    "Waiting for an owner", "since {ago}"):
        assert english in blocks, english
    assert fallback.startswith("Qualified lead: Ada Lovelace (Analytical Engines) — score ")
    assert fallback.endswith(", hot")
    assert "Lead qualifié" not in blocks and "Je le prends" not in blocks


def test_french_status_lines_keep_escaping_what_a_prospect_typed() -> None:
    hostile = "<!channel> <https://evil.example|click> & co"
    base = AlertCard(lead_id=3, stage="sql", name=hostile, company=hostile, temperature="warm",
                     reasons=tuple(f"raison {i}" for i in range(12)), lang="fr",
                     qualified_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    claimed = replace(base, owner_id="U0SAM0001", owner_name="sam",
                      claimed_at=datetime(2026, 11, 27, 9, 7, tzinfo=UTC))
    out = replace(base, stage="disqualified", disqualified_reason="no_budget",
                  disqualified_by="U0KIM0001")
    assert "✅ Pris en charge par <@U0SAM0001> après 7 min" in json.dumps(
        alert_blocks(claimed), ensure_ascii=False)
    assert "🚫 Disqualifié par <@U0KIM0001>: Pas de budget" in json.dumps(
        alert_blocks(out), ensure_ascii=False)
    assert "pris en charge par @sam" in alert_fallback_text(claimed)
    assert "+3 autres" in json.dumps(alert_blocks(base), ensure_ascii=False)
    for card in (base, claimed, out):  # mrkdwn is parsed by Slack; plain_text never is
        rendered = " ".join(mrkdwn_texts(alert_blocks(card)))
        assert "&lt;!channel&gt;" in rendered
        assert "<!channel>" not in rendered and "<https://evil" not in rendered
    fallback = alert_fallback_text(base)
    assert "&lt;!channel&gt;" in fallback and "<!channel>" not in fallback and ", tiède" in fallback


def mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [str(node["text"])]
        return [t for value in node.values() for t in mrkdwn_texts(value)]
    return []

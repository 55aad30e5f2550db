"""The sales card speaks the team's language: one alert language for the workspace
(`alerts.language`, by default the script's first), the prospect's own words quoted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import DEFAULT_SCRIPT, Settings
from bot.slack.alert import alert_blocks, render_alert_text, why_lines
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

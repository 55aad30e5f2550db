"""Transcript tests of whole conversations through the pure engine."""

from __future__ import annotations

import pytest

from conversations.exchange import (
    AnswerNotUnderstood,
    AnswerRecorded,
    ConversationStarted,
    ForgetRequested,
    Inbound,
    MessageAfterFlow,
    StageChanged,
)
from tests.transcripts import Transcript


def test_hot_lead_by_free_text_reaches_sql() -> None:
    t = Transcript()
    t.say("/start linkedin_q3")
    assert "Hi Ada!" in t.text and "/forget" in t.text  # greeting + privacy notice
    assert t.asked == "sector" and len(t.replies[-1].choices) == 8
    t.say("we sell accounting software")
    assert t.asked == "company_size"
    t.say("about 120")
    t.say("50k")
    t.say("asap")
    assert [e.stage for e in t.events_of(StageChanged)] == ["engaged", "mql"]
    assert t.asked == "name"  # contact questions only once the lead is worth a call
    t.say("Ada Lovelace")
    t.say("Analytical Engines")
    t.say("ada@example.com")
    assert [e.stage for e in t.events_of(StageChanged)][-1] == "sql"
    assert t.asked == "phone" and t.replies[-1].request_phone
    t.tap("Skip")
    assert t.state.status == "completed"
    assert "sales team will contact you" in t.text
    assert t.state.source == "linkedin_q3"
    answers = {e.question_id: e.option_id for e in t.events_of(AnswerRecorded)}
    assert answers["sector"] == "software" and answers["budget"] == "20k_100k"


def test_whole_flow_by_buttons_in_french() -> None:
    t = Transcript(lang="fr")
    t.say("/start")
    assert "Bonjour Ada" in t.text and "Dans quel secteur" in t.text
    t.tap("Finance & assurance")
    assert "✓ Finance & assurance" in t.text
    t.tap("201 à 1000")
    t.tap("100 k€ ou plus")
    t.tap("D'ici un mois")
    t.say("Marie Curie")
    t.say("Banque Radium")
    t.say("marie@example.fr")
    t.say("06 12 34 56 78")
    assert t.state.stage == "sql" and t.state.status == "completed"
    assert "équipe commerciale" in t.text
    assert t.state.answers["phone"].value == "0612345678" or t.state.answers["phone"].value


def test_cold_lead_is_disqualified_politely_and_not_asked_for_contact() -> None:
    t = Transcript()
    t.say("/start")
    for answer in ("school", "just me", "2000 euros", "just looking"):
        t.say(answer)
    assert t.state.stage == "disqualified" and t.state.status == "completed"
    assert "useful resources" in t.text
    assert "email" not in t.state.answers


def test_not_understood_reasks_then_offers_buttons() -> None:
    t = Transcript()
    t.say("/start")
    t.say("qwertyuiop")
    assert "didn't catch" in t.text and t.asked == "sector"
    t.say("zzzz xxxx")
    t.say("blorp")
    assert "tap one of the options" in t.text  # past max_retries
    assert len(t.events_of(AnswerNotUnderstood)) == 3
    assert t.state.current == "sector" and not t.state.answers


def test_did_you_mean_keeps_the_prospects_words() -> None:
    t = Transcript()
    t.say("/start")
    t.state = t.state.model_copy(update={"suggestions": ("retail",), "pending_raw": "shopz"})
    t.tap_token("a:sector:retail")
    recorded = t.events_of(AnswerRecorded)[-1]
    assert (recorded.option_id, recorded.raw_text) == ("retail", "shopz")


def test_stale_and_forged_buttons_get_a_polite_reask() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    for token in ("a:sector:finance", "a:company_size:nope", "x" * 64, "", "a::", "f:yes"):
        t.tap_token(token)
        assert t.asked == "company_size", token
        assert t.state.answers["sector"].option_id == "software"
    assert "earlier question" in t.text or "company" in t.text


def test_back_corrects_the_previous_answer_and_stage_never_drops() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    t.say("45")
    t.say("/back")
    assert t.asked == "company_size"
    t.say("300")
    assert t.state.answers["company_size"].option_id == "large"
    assert t.asked == "budget"


def test_restart_clears_answers_but_keeps_source() -> None:
    t = Transcript()
    t.say("/start ads-q4")
    t.say("software")
    t.say("/restart")
    assert "start over" in t.text and t.asked == "sector"
    assert t.state.answers == {} and t.state.source == "ads-q4"
    assert t.events_of(ConversationStarted)[-1].restart


def test_stop_then_silence_then_start_resumes() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    t.say("/stop")
    assert t.state.status == "stopped" and "won't get any more" in t.text
    t.say("hello?")
    assert "/start to resume" in t.text and t.state.answers.keys() == {"sector"}
    t.say("/start")
    assert "Welcome back" in t.text and t.asked == "company_size"


def test_forget_asks_for_confirmation() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    t.say("/forget")
    t.tap("No, keep it")
    assert "Nothing was erased" in t.text and not t.events_of(ForgetRequested)
    t.say("/forget")
    t.tap("Yes, erase my data")
    assert t.events_of(ForgetRequested) and "erased" in t.text
    assert t.state.answers == {}


def test_language_switch_and_help() -> None:
    t = Transcript()
    t.say("/start")
    t.say("/lang")
    t.tap("Français")
    assert "Je parlerai français" in t.text and "Dans quel secteur" in t.text
    t.say("/help")
    assert "/restart" in t.text and t.asked == "sector"
    t.say("/dance")
    assert "Je ne connais pas" in t.text


def test_message_after_flow_is_relayed() -> None:
    t = Transcript()
    t.say("/start")
    for answer in ("software", "120", "50k", "asap", "Ada", "Engines", "ada@example.com", "skip"):
        t.say(answer)
    assert t.state.status == "completed"
    t.say("Can you call me after 5pm?")
    assert t.events_of(MessageAfterFlow)[-1].text == "Can you call me after 5pm?"
    assert "passed your message" in t.text


@pytest.mark.parametrize("hostile", [
    "", "   ", "x" * 10_000, "🙂🙂🙂", "\u202eevil\u202c", "مرحبا بالعالم", "\x00\x07\x1b[31m",
    "'; DROP TABLE leads;--", "1e309", "-5", "NaN", "inf", "<script>alert(1)</script>",
])
def test_hostile_input_gets_a_reask_and_changes_nothing(hostile: str) -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    before = t.state.answers
    t.say(hostile)
    assert t.asked == "company_size"
    assert t.state.answers == before
    assert t.replies and all(len(r.text) < 1000 for r in t.replies)


def test_negative_employees_is_explained() -> None:
    t = Transcript()
    t.say("/start")
    t.say("software")
    t.say("-5")
    assert t.asked == "company_size" and "company_size" not in t.state.answers


def test_unsupported_messages_and_contacts() -> None:
    t = Transcript()
    t.say("/start")
    t._send(Inbound(kind="unsupported", text="sticker"))
    assert "only read text" in t.text and t.asked == "sector"
    t._send(Inbound(kind="contact", text="+33612345678"))
    assert t.asked == "sector" and not t.state.answers
    t._send(Inbound(kind="unsupported", text="edited_message"))
    assert "edited messages" in t.text and "/back" in t.text and t.asked == "sector"
    t._send(Inbound(kind="unsupported", text="forwarded_message"))
    assert "forwarded messages" in t.text and not t.state.answers


def test_first_message_that_is_not_start_still_greets() -> None:
    t = Transcript()
    t.say("hello")
    assert "Hi Ada" in t.text and t.asked == "sector"
    assert t.state.answers == {}

"""Prospects qualify themselves in Telegram: real PTB, the fake Bot API, a real SQLite file.

Each test plays one or more prospects end to end (see the `telegram_bot` fixture in
conftest.py) and asserts on what the bot sent and on what the database holds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.models import Answer, Lead, LeadEvent, OutboxMessage

CONTACT_ANSWERS = [("name", None), ("company", None), ("email", None), ("phone", None)]


async def play_hot_prospect_by_buttons(prospect: Any) -> None:
    await prospect.say("/start")
    await prospect.tap("Software & SaaS")
    await prospect.tap("201–1000")
    await prospect.tap("100 k€ or more")
    await prospect.tap("Within a month")


async def test_whole_default_script_by_buttons(telegram_bot: Any) -> None:
    ada = telegram_bot.prospect(101, first_name="Ada", username="ada")

    [opening] = await ada.say("/start")  # one message: greeting, privacy notice, question
    greeting, privacy, question = opening.split("\n\n")
    assert greeting.startswith("Hi Ada!")
    assert "/forget" in privacy  # the privacy notice rides on the first message
    assert question == "Which sector is your company in?"
    assert "Software & SaaS" in ada.buttons and len(ada.buttons) == 8

    after_tap = await ada.tap("Software & SaaS")
    sector_message = ada.messages[0]
    assert sector_message.text == f"{opening}\n\n✓ Software & SaaS"
    assert sector_message.inline_keyboard is None  # answered: its buttons are gone
    assert after_tap == ["How many people work at your company?"]
    assert telegram_bot.fake.callback_answered(ada.last_update_id)

    await ada.tap("201–1000")
    await ada.tap("100 k€ or more")
    await ada.tap("Within a month")
    assert telegram_bot.lead(101).stage == "mql"  # the script wants an email for SQL

    await ada.say("Ada Lovelace")
    await ada.say("Analytical Engines")
    asks_phone = await ada.say("ada@example.com")
    phone_question = ada.messages[-1]
    assert phone_question.reply_keyboard is not None
    assert phone_question.reply_keyboard["keyboard"][0][0]["request_contact"] is True
    closing = await ada.send("contact", "+44 20 7946 0958")
    assert asks_phone and closing
    after_phone = ada.messages[ada.messages.index(phone_question) + 1]
    assert after_phone.reply_keyboard == {"remove_keyboard": True}  # the share button goes away

    lead = telegram_bot.lead(101)
    assert (lead.stage, lead.name, lead.company, lead.email) == (
        "sql", "Ada Lovelace", "Analytical Engines", "ada@example.com")
    assert lead.phone and lead.phone.replace(" ", "").endswith("2079460958")
    assert telegram_bot.answers(101) == [
        ("sector", "software"), ("company_size", "large"), ("budget", "gt_100k"),
        ("urgency", "now"), *CONTACT_ANSWERS,
    ]


async def test_whole_default_script_by_free_text(telegram_bot: Any) -> None:
    bob = telegram_bot.prospect(102, first_name="Bob")
    await bob.say("hello")  # any first message starts the flow
    await bob.say("we build SaaS software")
    await bob.say("about 300 people")
    await bob.say("50k")
    await bob.say("asap")
    assert [a for a in telegram_bot.answers(102)][:4] == [
        ("sector", "software"), ("company_size", "large"), ("budget", "20k_100k"), ("urgency", "now"),
    ]
    assert telegram_bot.lead(102).stage in ("mql", "sql")


async def test_french_prospect_gets_french_and_french_buttons(telegram_bot: Any) -> None:
    zoe = telegram_bot.prospect(103, first_name="Zoé", language_code="fr-FR")
    [opening] = await zoe.say("/start")
    assert opening.startswith("Bonjour Zoé !")
    assert opening.endswith("\n\nDans quel secteur est votre entreprise ?")
    assert "Logiciel & SaaS" in zoe.buttons
    await zoe.tap("Logiciel & SaaS")
    assert zoe.messages[-1].text == "Combien de personnes travaillent dans votre entreprise ?"
    await zoe.say("une vingtaine")
    assert telegram_bot.answers(103)[-1] == ("company_size", "small")
    assert telegram_bot.lead(103).language == "fr"


async def test_deep_link_payload_becomes_the_lead_source(telegram_bot: Any) -> None:
    eve = telegram_bot.prospect(104)
    await eve.say("/start linkedin_q3")
    await eve.tap("Finance & insurance")
    assert telegram_bot.lead(104).source == "linkedin_q3"


async def test_restart_mid_way_starts_over(telegram_bot: Any) -> None:
    sam = telegram_bot.prospect(105)
    await sam.say("/start")
    await sam.tap("Retail & e-commerce")
    await sam.tap("11–50")
    [restarted] = await sam.say("/restart")
    assert restarted.startswith("Let's start over.")
    assert restarted.endswith("\n\nWhich sector is your company in?")
    await sam.tap("Healthcare")
    assert sam.messages[-1].text == "How many people work at your company?"
    with telegram_bot.container.uow() as uow:
        lead = uow.leads.by_chat("telegram", "105")
        conversation = uow.conversations.active_for(lead.id)
        assert list(conversation.state["answers"]) == ["sector"]
        assert conversation.state["answers"]["sector"]["option_id"] == "healthcare"


async def test_stop_means_no_more_messages(telegram_bot: Any) -> None:
    tom = telegram_bot.prospect(106)
    await tom.say("/start")
    stopped = await tom.say("/stop")
    assert stopped == ["Understood, you won't get any more messages from us. Send /start to resume."]
    count = len(tom.messages)
    # Another chat keeps the bot busy; the stopped chat gets nothing unprompted.
    await play_hot_prospect_by_buttons(telegram_bot.prospect(107))
    assert len(tom.messages) == count
    assert telegram_bot.lead(106).stopped is True
    # A stale button is answered (never a crash) but does not restart the flow.
    replies = await tom.tap("Education")
    assert replies and "/start" in replies[0]
    assert telegram_bot.answers(106) == []


async def test_forget_erases_the_prospects_data(telegram_bot: Any) -> None:
    liz = telegram_bot.prospect(108, first_name="Liz", username="liz")
    await play_hot_prospect_by_buttons(liz)
    await liz.say("Liz Smith")
    confirm = await liz.say("/forget")
    assert "Are you sure?" in confirm[-1]
    done = await liz.tap("Yes, erase my data")
    assert done[-1].startswith("Done: your answers")
    with telegram_bot.container.uow() as uow:
        session = uow.session
        assert session.scalar(select(func.count()).select_from(Lead)) == 0
        assert session.scalar(select(func.count()).select_from(Answer)) == 0
        assert session.scalar(
            select(func.count()).select_from(LeadEvent).where(LeadEvent.lead_id.is_not(None))) == 0
        queued = [str(row.payload) for row in session.scalars(select(OutboxMessage))]
        assert not [text for text in queued if "Liz" in text]  # not even in sent replies


async def test_non_text_messages_get_a_friendly_re_ask(telegram_bot: Any) -> None:
    kim = telegram_bot.prospect(109)
    await kim.say("/start")
    for kind in ("sticker", "photo", "voice", "document", "location"):
        replies = await kim.send(kind)
        assert replies == [("I can only read text. Please answer in text or tap a button.\n\n"
                            "Which sector is your company in?")], kind
    forwarded = await kim.send("forwarded", "software")
    assert forwarded[0].startswith("I can't use forwarded messages")
    someone_else = await kim.send("contact", "+33 6 12 34 56 78", contact_user_id=999)
    assert someone_else[0].startswith("I can only read text")
    edited = await kim._then(lambda: telegram_bot.fake.edit_message(109, 1, "software"))
    assert edited[0].startswith("I can't use edited messages")
    assert telegram_bot.answers(109) == []  # nothing stored wrongly


async def test_garbage_and_forged_buttons_are_answered_politely(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    max_ = telegram_bot.prospect(110)
    await max_.say("/start")
    garbage = await max_.say("🙃🙃 asdkjh qwpoeiru")
    assert garbage and "Which sector is your company in?" in garbage[-1]
    assert "Software & SaaS" in max_.buttons
    question = [m for m in max_.messages if m.inline_keyboard][-1]
    for data in ("a:sector:nope", "a:budget:gt_100k", "💥" * 40, "\x00\x01", ""):
        replies = await max_._then(lambda d=data: fake.press_button(110, question.message_id, d))
        assert replies, data
        assert fake.callback_answered(max_.last_update_id)
    assert telegram_bot.answers(110) == []
    long_text = await max_.say("software " * 600)  # way past any sane answer length
    assert long_text


async def test_html_in_names_and_answers_is_shown_verbatim(telegram_bot: Any) -> None:
    odd = telegram_bot.prospect(111, first_name="<b>Al</b> & Co")
    opening = await odd.say("/start")
    assert opening[0].startswith("Hi <b>Al</b> & Co!")


async def test_group_chats_are_pointed_to_a_private_chat(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.send_text(-100555, "/start", chat_type="supergroup")
    await telegram_bot.settle()
    [reply] = fake.messages(-100555)
    assert "https://t.me/leadbot_test_bot" in (reply.text or "")
    assert telegram_bot.lead(-100555) is None


async def test_commands_are_registered_in_english_and_french(telegram_bot: Any) -> None:
    english = {c["command"]: c["description"] for c in telegram_bot.fake.commands("")}
    french = {c["command"]: c["description"] for c in telegram_bot.fake.commands("fr")}
    expected = {"start", "restart", "back", "lang", "help", "stop", "forget"}
    assert set(english) == set(french) == expected
    assert english["forget"] != french["forget"]


async def test_lang_command_switches_language(telegram_bot: Any) -> None:
    leo = telegram_bot.prospect(112)
    await leo.say("/start")
    switched = await leo.say("/lang fr")
    assert switched == ["Je parlerai français.\n\nDans quel secteur est votre entreprise ?"]
    assert "Logiciel & SaaS" in leo.buttons


async def test_group_chatter_is_ignored(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.send_text(-100556, "hello everyone", chat_type="supergroup")
    await telegram_bot.settle()
    assert fake.messages(-100556) == []


async def test_only_the_latest_question_keeps_its_buttons(telegram_bot: Any) -> None:
    ivy = telegram_bot.prospect(113)
    await ivy.say("/start")
    await ivy.say("/help")  # answered with help, then the question again
    with_buttons = [m for m in ivy.messages if m.inline_keyboard]
    assert len(with_buttons) == 1 and with_buttons[0] is ivy.messages[-1]
    await ivy.tap("Education")
    assert ivy.messages[-1].text == "How many people work at your company?"

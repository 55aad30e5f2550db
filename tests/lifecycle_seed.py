"""A few hundred simulated conversations through the real message service, for replay tests."""

from __future__ import annotations

import random

from bot.service import ConversationKey, LeadService, Profile
from conversations.exchange import Inbound

SECTORS = ("software", "finance", "healthcare", "retail", "manufacturing", "education", "public",
           "other")
TYPED_SECTORS = ("we sell accounting software", "a bank", "hospital", "online store",
                 "car parts factory", "a school", "city council")
SIZES = ("micro", "small", "medium", "large", "enterprise")
TYPED_SIZES = ("about 120", "just me", "une vingtaine", "3000 people", "40")
BUDGETS = ("lt_5k", "5k_20k", "20k_100k", "gt_100k", "unknown")
TYPED_BUDGETS = ("50k", "2000 euros", "no idea yet", "15 k€", "200k")
URGENCIES = ("now", "quarter", "year", "exploring")
TYPED_URGENCIES = ("asap", "next quarter", "just looking", "dans 3 mois")
GIBBERISH = "blorptastic"  # a sector answer nobody understands — until a synonym says so


def tap(question: str, option: str) -> Inbound:
    return Inbound(kind="choice", choice=f"a:{question}:{option}")


def typed(text: str) -> Inbound:
    return Inbound.parse_text(text)


def conversation(rng: random.Random) -> list[Inbound]:
    """One prospect's messages: buttons or typed answers, sometimes misunderstood first."""
    messages = [typed("/start")]
    if rng.random() < 0.15:
        messages.append(typed(GIBBERISH))
    for question, buttons, words in (("sector", SECTORS, TYPED_SECTORS),
                                     ("company_size", SIZES, TYPED_SIZES),
                                     ("budget", BUDGETS, TYPED_BUDGETS),
                                     ("urgency", URGENCIES, TYPED_URGENCIES)):
        if rng.random() < 0.08:
            return messages  # left mid-way
        if rng.random() < 0.6:
            messages.append(tap(question, rng.choice(buttons)))
        else:
            messages.append(typed(rng.choice(words)))
    for text in ("Ada Lovelace", "Analytical Engines", f"ada{rng.randrange(10**6)}@example.com",
                 "+33 6 12 34 56 78"):
        if rng.random() < 0.1:
            break
        messages.append(typed(text))
    return messages


def seed(service: LeadService, count: int, *, seed_value: int = 5) -> list[str]:
    """Run `count` conversations; returns their chat ids."""
    rng = random.Random(seed_value)
    chats = []
    for number in range(count):
        chat = f"seed-{number}"
        chats.append(chat)
        for inbound in conversation(rng):
            service.handle_message(ConversationKey("console", chat), inbound, message_id=None,
                                   profile=Profile(first_name="Ada"))
    return chats

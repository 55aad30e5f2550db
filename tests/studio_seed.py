"""A few prospects talked through the real service (one way in), for the workspace's pages.

Each conversation is typed as a prospect would, with a controlled clock, replies queued for
Telegram (so transcripts have both sides). One prospect's name and answers carry HTML and
script: every page must show them as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.bootstrap import Container
from bot.service import ConversationKey, Profile
from conversations.exchange import Inbound
from tests.studio_support import Clock

EVIL_NAME = '<img src=x onerror="alert(1)">Ada'
EVIL_ANSWER = "<script>alert('x')</script> we sell accounting software"
EVIL_COMPANY = "Analytical <b>Engines</b>"


@dataclass(frozen=True)
class Prospect:
    chat_id: str
    first_name: str
    language: str
    payload: str | None
    answers: tuple[str, ...]
    day: datetime


HOT = ("we sell accounting software", "about 120 people", "50k", "asap")
OCTOBER = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)

PROSPECTS = (
    Prospect("101", "Evil", "en", "linkedin-q3launch-paid",
             (EVIL_ANSWER, *HOT[1:], EVIL_NAME, EVIL_COMPANY, "ada@example.com", "skip"),
             NOVEMBER),
    Prospect("102", "Grace", "en", "google-q3launch-cpc",
             ("software", "300", "100k", "this month", "Grace Hopper", "Cobol Inc",
              "grace@example.com", "skip"), NOVEMBER + timedelta(hours=3)),
    Prospect("103", "Alan", "en", "newsletter-may", ("retail", "5"), NOVEMBER + timedelta(hours=5)),
    Prospect("104", "Marie", "fr", "partner", ("logiciel", "environ 40", "15 k€", "dans 3 mois"),
             NOVEMBER + timedelta(hours=7)),
    Prospect("105", "Linus", "en", "google-brand-cpc", ("blörf zyx",), OCTOBER),
    Prospect("106", "Ken", "en", None, ("software", "about 2000", "200k", "now", "Ken T",
                                        "Bell Labs", "ken@example.com", "skip"),
             OCTOBER + timedelta(days=2)),
)


def seed_prospects(container: Container, clock: Clock) -> None:
    """Talk every prospect through the service; leaves the clock after the last message."""
    for prospect in PROSPECTS:
        key = ConversationKey("telegram", prospect.chat_id)
        profile = Profile(first_name=prospect.first_name, language_code=prospect.language)
        clock.now = prospect.day
        start = "/start" + (f" {prospect.payload}" if prospect.payload else "")
        container.service.handle_message(
            key, Inbound.parse_text(start, language_code=prospect.language), message_id=None,
            profile=profile, outbound="telegram")
        for answer in prospect.answers:
            clock.advance(seconds=45)
            container.service.handle_message(
                key, Inbound.parse_text(answer, language_code=prospect.language),
                message_id=None, profile=profile, outbound="telegram")
    clock.now = NOVEMBER + timedelta(days=1)

"""The alert card's fixed words, one table per language (the script's `alerts.language`).

Headings, field names, buttons, status lines and the notification text of the sales
card. Prospect text never goes through these tables; it is escaped where it is shown.
A language without a table falls back to English.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CardTexts:
    qualified_lead: str
    lead_in_stage: str  # {stage}
    contact: str
    company: str
    score: str
    score_detail: str  # {score} {fit} {intent}
    temperature: str
    temperatures: dict[str, str]
    source: str
    direct: str
    qualified_in: str
    meeting: str
    booked_on: str  # followed by a Slack date
    meeting_booked: str  # fallback text
    answers: str
    why: str
    more: str  # {count}
    disqualified_by: str  # {by}: "" or the rep's mention
    claimed_by: str  # {owner}
    after: str  # {duration}
    yours_to_call: str  # {rep}
    waiting: str  # followed by waiting_since
    since: str  # Slack date format; {time} stays a Slack token
    since_fallback: str  # strftime
    date_format: str  # Slack date format
    claim: str
    disqualify: str
    show_transcript: str
    reasons: dict[str, str]  # disqualification code → label
    no_reason: str
    fallback_disqualified: str
    fallback_claimed: str
    days: str  # {days}
    who: str
    rep: str
    booked_terminal: str


EN = CardTexts(
    qualified_lead="Qualified lead", lead_in_stage="Lead ({stage})",
    contact="Contact", company="Company", score="Score",
    score_detail="{score} (fit {fit} · intent {intent})",
    temperature="Temperature", temperatures={"hot": "hot", "warm": "warm", "cold": "cold"},
    source="Source", direct="direct", qualified_in="Qualified in", meeting="Meeting",
    booked_on="📅 Booked", meeting_booked="meeting booked", answers="Answers", why="Why",
    more="+{count} more", disqualified_by=" by {by}", claimed_by="✅ Claimed by {owner}",
    after=" after {duration}", yours_to_call="👉 {rep}, this one is yours to call.",
    waiting="⏳ Waiting for an owner", since="since {ago}", since_fallback="since %H:%M UTC",
    date_format="{date_short_pretty} at {time}",
    claim="Claim", disqualify="Disqualify…", show_transcript="Show transcript",
    reasons={
        "no_budget": "No budget", "no_timeline": "No timeline / just exploring",
        "not_a_fit": "Not a fit for our offer", "unreachable": "Unreachable",
        "competitor": "Competitor or partner", "spam": "Spam or fake",
        "duplicate": "Duplicate lead", "other": "Other",
    },
    no_reason="no reason given", fallback_disqualified="disqualified",
    fallback_claimed="claimed by", days="{days} days", who="Who", rep="Rep",
    booked_terminal="booked",
)

# Slack renders `{ago}` in English whatever the reader's language, so French shows the
# time instead ("depuis 09:12"); `{date_num}` is a plain 2026-11-28.
FR = CardTexts(
    qualified_lead="Lead qualifié", lead_in_stage="Lead ({stage})",
    contact="Coordonnées", company="Entreprise", score="Score",
    score_detail="{score} (adéquation {fit} · intention {intent})",
    temperature="Température", temperatures={"hot": "chaud", "warm": "tiède", "cold": "froid"},
    source="Source", direct="direct", qualified_in="Qualifié en", meeting="Rendez-vous",
    booked_on="📅 Pris pour le", meeting_booked="rendez-vous pris", answers="Réponses",
    why="Pourquoi", more="+{count} autres", disqualified_by=" par {by}",
    claimed_by="✅ Pris en charge par {owner}", after=" après {duration}",
    yours_to_call="👉 {rep}, ce lead est pour vous : à vous d'appeler.",
    waiting="⏳ En attente d'un responsable", since="depuis {time}",
    since_fallback="depuis %H:%M UTC", date_format="{date_num} à {time}",
    claim="Je le prends", disqualify="Disqualifier…", show_transcript="Voir la conversation",
    reasons={
        "no_budget": "Pas de budget", "no_timeline": "Pas d'échéance / simple curiosité",
        "not_a_fit": "Hors de notre offre", "unreachable": "Injoignable",
        "competitor": "Concurrent ou partenaire", "spam": "Spam ou faux contact",
        "duplicate": "Lead en double", "other": "Autre",
    },
    no_reason="sans motif", fallback_disqualified="disqualifié",
    fallback_claimed="pris en charge par", days="{days} jours", who="Qui", rep="Commercial",
    booked_terminal="pris pour le",
)

TABLES: dict[str, CardTexts] = {"en": EN, "fr": FR}


def card_texts(lang: str) -> CardTexts:
    """The table for `lang` ("fr", "fr-CA" → French), English when there is none."""
    return TABLES.get(lang.split("-")[0].lower(), EN)

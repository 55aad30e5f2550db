"""Telegram-only wording: the command menu, the phone button, the group redirect.

Conversation texts come from the engine (and the script); these are the few words
that exist only because Telegram has menus, reply keyboards and group chats.
"""

from __future__ import annotations

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Start (or resume) the questions"),
        ("restart", "Start over from the first question"),
        ("back", "Change your previous answer"),
        ("lang", "Switch language (en / fr)"),
        ("help", "How this works"),
        ("stop", "Stop receiving messages"),
        ("forget", "Erase your data"),
    ],
    "fr": [
        ("start", "Commencer (ou reprendre) les questions"),
        ("restart", "Recommencer depuis la première question"),
        ("back", "Modifier la réponse précédente"),
        ("lang", "Changer de langue (en / fr)"),
        ("help", "Comment ça marche"),
        ("stop", "Ne plus recevoir de messages"),
        ("forget", "Effacer vos données"),
    ],
}

SHARE_PHONE = {"en": "📱 Share my phone number", "fr": "📱 Partager mon numéro"}

GROUP_REDIRECT = {
    "en": "I only talk one-to-one. Open a private chat with me: https://t.me/{username}?start=group",
    "fr": "Je ne discute qu'en privé. Écrivez-moi directement : https://t.me/{username}?start=group",
}


def language_of(language_code: str | None) -> str:
    """Telegram's language hint → one of our two UI languages (same rule as the engine)."""
    return "fr" if (language_code or "").lower().startswith("fr") else "en"

"""The engine's own texts in English and French; a script's `messages:` overrides them."""

from __future__ import annotations

from conversations.dsl import Script
from conversations.dsl_base import Text

BUILT_IN: dict[str, dict[str, str]] = {
    "privacy": {
        "en": "We keep your answers only to follow up on your request. Send /forget to erase them.",
        "fr": "Nous gardons vos réponses uniquement pour donner suite à votre demande. "
        "Envoyez /forget pour les effacer.",
    },
    "reask": {
        "en": "Sorry, I didn't catch that.",
        "fr": "Désolé, je n'ai pas compris.",
    },
    "reask_buttons": {
        "en": "Please tap one of the options below.",
        "fr": "Merci de choisir l'une des options ci-dessous.",
    },
    "reask_email": {
        "en": "That doesn't look like an email address (like name@company.com).",
        "fr": "Cela ne ressemble pas à une adresse e-mail (comme nom@entreprise.fr).",
    },
    "reask_phone": {
        "en": "That doesn't look like a phone number (like +44 20 7946 0958).",
        "fr": "Cela ne ressemble pas à un numéro de téléphone (comme 06 12 34 56 78).",
    },
    "reask_text": {
        "en": "Please answer in a few words (up to {max} characters).",
        "fr": "Merci de répondre en quelques mots ({max} caractères au plus).",
    },
    "below_min": {
        "en": "That number seems too small; please give a number of at least {min}.",
        "fr": "Ce nombre semble trop petit ; indiquez au moins {min}.",
    },
    "above_max": {
        "en": "That number seems too large; please give a number of at most {max}.",
        "fr": "Ce nombre semble trop grand ; indiquez au plus {max}.",
    },
    "did_you_mean": {
        "en": "Did you mean one of these?",
        "fr": "Vouliez-vous dire l'un de ceux-ci ?",
    },
    "none_of_these": {"en": "None of these", "fr": "Aucun de ceux-là"},
    "skip": {"en": "Skip", "fr": "Passer"},
    "help": {
        "en": "I ask a few questions to connect you with the right person. Answer in your own "
        "words or tap a button.\n/back changes your previous answer, /restart starts over, "
        "/lang switches language, /stop stops messages, /forget erases your data.",
        "fr": "Je pose quelques questions pour vous mettre en relation avec la bonne personne. "
        "Répondez avec vos mots ou touchez un bouton.\n/back modifie la réponse précédente, "
        "/restart recommence, /lang change de langue, /stop arrête les messages, /forget "
        "efface vos données.",
    },
    "done": {
        "en": "Thank you! That's all I needed. Someone from our team will be in touch.",
        "fr": "Merci ! C'est tout ce dont j'avais besoin. Quelqu'un de notre équipe vous recontactera.",
    },
    "qualified": {
        "en": "Thank you! You're a great fit: a member of our sales team will contact you shortly.",
        "fr": "Merci ! Votre projet correspond parfaitement : un membre de notre équipe "
        "commerciale vous contactera très vite.",
    },
    "disqualified": {
        "en": "Thank you for your answers! We'll keep you posted with useful resources.",
        "fr": "Merci pour vos réponses ! Nous vous tiendrons informé avec des ressources utiles.",
    },
    "stopped": {
        "en": "Understood, you won't get any more messages from us. Send /start to resume.",
        "fr": "C'est noté, vous ne recevrez plus de messages de notre part. Envoyez /start "
        "pour reprendre.",
    },
    "still_stopped": {
        "en": "You stopped this conversation. Send /start to resume, or /forget to erase your data.",
        "fr": "Vous avez arrêté cette conversation. Envoyez /start pour reprendre, ou /forget "
        "pour effacer vos données.",
    },
    "welcome_back": {"en": "Welcome back!", "fr": "Bon retour !"},
    "restarted": {"en": "Let's start over.", "fr": "On recommence."},
    "stale_button": {
        "en": "That button belongs to an earlier question.",
        "fr": "Ce bouton correspond à une question précédente.",
    },
    "unsupported": {
        "en": "I can only read text. Please answer in text or tap a button.",
        "fr": "Je ne lis que le texte. Répondez par écrit ou touchez un bouton.",
    },
    "edited": {
        "en": "I can't use edited messages. Please send your new answer as a new message, "
        "or /back to change the previous one.",
        "fr": "Je ne peux pas utiliser les messages modifiés. Envoyez votre nouvelle réponse "
        "dans un nouveau message, ou /back pour modifier la précédente.",
    },
    "forwarded": {
        "en": "I can't use forwarded messages. Please type your answer or tap a button.",
        "fr": "Je ne peux pas utiliser les messages transférés. Tapez votre réponse ou "
        "touchez un bouton.",
    },
    "unknown_command": {
        "en": "I don't know that command.",
        "fr": "Je ne connais pas cette commande.",
    },
    "nothing_to_go_back_to": {
        "en": "There is no earlier answer to change.",
        "fr": "Il n'y a pas de réponse précédente à modifier.",
    },
    "choose_language": {"en": "Choose your language:", "fr": "Choisissez votre langue :"},
    "language_set": {"en": "I'll speak English.", "fr": "Je parlerai français."},
    "forget_confirm": {
        "en": "This erases your answers and contact details for good. Are you sure?",
        "fr": "Cela efface définitivement vos réponses et coordonnées. Êtes-vous sûr ?",
    },
    "forget_yes": {"en": "Yes, erase my data", "fr": "Oui, effacer mes données"},
    "forget_no": {"en": "No, keep it", "fr": "Non, garder"},
    "forget_cancelled": {"en": "Nothing was erased.", "fr": "Rien n'a été effacé."},
    "forgotten": {
        "en": "Done: your answers, contact details and conversation history were erased. "
        "Send /start if you ever want to talk again.",
        "fr": "C'est fait : vos réponses, coordonnées et l'historique de la conversation ont "
        "été effacés. Envoyez /start si vous souhaitez reprendre contact.",
    },
    "after_flow": {
        "en": "Thanks, I've passed your message on to the team.",
        "fr": "Merci, j'ai transmis votre message à l'équipe.",
    },
    "after_flow_not_qualified": {
        "en": "Thanks for your message! Send /restart to answer the questions again.",
        "fr": "Merci pour votre message ! Envoyez /restart pour répondre à nouveau aux questions.",
    },
    "chosen": {"en": "✓ {answer}", "fr": "✓ {answer}"},
    "friend": {"en": "there", "fr": ""},
}


def text(script: Script, key: str, lang: str, **values: object) -> str:
    """A built-in text, or the script's override, in `lang` (falling back to the default)."""
    override: Text | None = getattr(script.messages, key, None)
    if override is not None:
        body = override.get(lang, script.lang)
    else:
        texts = BUILT_IN[key]
        # An empty text is a real translation ("friend" has no French word): keep it.
        found = next((texts[code] for code in (lang, script.lang) if code in texts), None)
        body = texts["en"] if found is None else found
    for name, value in values.items():
        body = body.replace("{" + name + "}", str(value))
    return body

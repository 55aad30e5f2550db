"""Terminal chat: the same service as Telegram, rendered as lines of text.

Choices are numbered for choice questions ("2" picks the second); for number,
money and timeframe questions a typed number is an answer, so their options are
listed without numbers and picked by typing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.service import ConversationKey, Handled, LeadService, Profile
from conversations import payloads
from conversations.dsl import BandedQuestion
from conversations.exchange import Choice, ConversationStarted, Inbound, Reply, StageChanged
from storage.unit_of_work import UnitOfWork

Write = Callable[[str], None]
# How to answer a numbered list, in the conversation's language.
NUMBERED_HINT = {"en": "(type a number or your own answer)",
                 "fr": "(tapez un numéro ou votre propre réponse)"}
AlertPrinter = Callable[[UnitOfWork, int], str | None]


@dataclass
class ConsoleChat:
    service: LeadService
    uow_factory: Callable[[], UnitOfWork]
    key: ConversationKey
    profile: Profile
    write: Write
    alert_text: AlertPrinter | None = None  # renders the card sales would get
    _choices: tuple[Choice, ...] = field(default=(), init=False)

    def start(self, *, lang: str | None = None) -> None:
        handled = self.send(
            Inbound(kind="command", command="start", language_code=self.profile.language_code)
        )
        resumed = not any(isinstance(e, ConversationStarted) for e in handled.events)
        if lang and resumed:
            # A new chat already started in `lang`; a resumed one may be in another.
            self.send(Inbound(kind="command", command="lang", args=(lang,)))

    def send_line(self, line: str) -> None:
        stripped = line.strip()
        if stripped.isdigit() and self._choices:
            index = int(stripped) - 1
            if 0 <= index < len(self._choices):
                self.send(Inbound(kind="choice", choice=self._choices[index].token))
                return
        self.send(Inbound.parse_text(line, first_name=self.profile.first_name))

    def send(self, inbound: Inbound) -> Handled:
        handled = self.service.handle_message(
            self.key, inbound, message_id=None, profile=self.profile
        )
        self._show(handled)
        return handled

    def run(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.send_line(line)

    def _show(self, handled: Handled) -> None:
        # Stage changes first: they happened when the answer was recorded, before the
        # bot's next question.
        for event in handled.events:
            if isinstance(event, StageChanged):
                self.write(
                    f"   → {event.stage.upper()}  (score {event.score}: fit {event.fit}, "
                    f"intent {event.intent}, {event.temperature})"
                )
                if event.stage == "sql" and handled.lead_id is not None and self.alert_text:
                    self._show_alert(handled.lead_id)
        self._choices = ()
        for reply in handled.replies:
            self.write(self._render(reply, handled.language))

    def _show_alert(self, lead_id: int) -> None:
        assert self.alert_text is not None
        with self.uow_factory() as uow:
            card = self.alert_text(uow, lead_id)
        if card:
            self.write("   Slack is not configured: this is the alert sales would get "
                       "(it waits in the outbox until Slack is set up).")
            self.write(card)

    def _numbered(self, reply: Reply) -> bool:
        if not reply.choices:
            return False
        if reply.question_id is None or payloads.is_none_of_these(reply.choices[-1].token):
            return True  # language, /forget and "did you mean…?" choices
        question = self.service.script.script.question(reply.question_id)
        return not isinstance(question, BandedQuestion)

    def _render(self, reply: Reply, lang: str) -> str:
        lines = [f"bot: {reply.text}"]
        if self._numbered(reply):
            self._choices = reply.choices
            lines += [f"   {i}. {choice.label}" for i, choice in enumerate(reply.choices, 1)]
            lines.append("   " + NUMBERED_HINT.get(lang, NUMBERED_HINT["en"]))
        elif reply.choices:
            lines.append("   " + " · ".join(choice.label for choice in reply.choices))
        return "\n".join(lines)

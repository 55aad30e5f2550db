"""Run a whole answer set through the engine, as `script simulate` and script examples do.

Pure: no database; the answers are typed one after the other, exactly as a
prospect would, so a simulation exercises matching, branching and scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conversations.dsl import Example, Script
from conversations.dsl_base import Stage
from conversations.engine import step
from conversations.exchange import Inbound
from conversations.state import ConversationState
from scoring import Score

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Simulation:
    state: ConversationState
    score: Score
    stage: Stage
    channel: str | None
    unanswered: tuple[str, ...]  # asked by the flow but missing from the answer set
    not_understood: tuple[str, ...] = field(default=())
    next_nudge: str | None = None  # "follow_up:<id>" or "reminder:<n>": what the lead gets next

    def as_json(self) -> dict[str, object]:
        return {
            "script": self.state.script_id,
            "language": self.state.lang,
            "answers": {
                qid: {
                    "text": answer.raw_text,
                    "option": answer.option_id,
                    "value": answer.value,
                    "confidence": answer.confidence,
                }
                for qid, answer in self.state.answers.items()
            },
            "not_understood": list(self.not_understood),
            "unanswered": list(self.unanswered),
            "scores": {"fit": self.score.fit, "intent": self.score.intent,
                       "total": self.score.total},
            "temperature": self.score.temperature,
            "stage": self.stage,
            "reasons": list(self.score.reasons),
            "channel": self.channel,
            "next_nudge": self.next_nudge,
            "completed": self.state.status == "completed",
        }


def simulate(
    script: Script, answers: Mapping[str, str], *, lang: str | None = None, now: datetime = EPOCH
) -> Simulation:
    language = lang or script.lang
    state = ConversationState.fresh(script_id=script.id, lang=language)
    last = step(script, state, Inbound(kind="command", command="start", language_code=language),
                now)
    not_understood: list[str] = []
    unanswered: list[str] = []
    while last.state.status == "active" and last.state.current is not None:
        current = last.state.current
        if current not in answers:
            unanswered.append(current)
            break
        after = step(script, last.state, Inbound(kind="text", text=answers[current]), now)
        if after.state.current == current and current not in after.state.answers:
            # Not understood (or "did you mean…?"): a prospect would be asked again.
            not_understood.append(current)
            break
        last = after
    # The engine's own verdict on the last state: the live service stores the same.
    return Simulation(
        state=last.state,
        score=last.score,
        stage=last.state.stage,
        channel=last.route.channel if last.route else None,
        unanswered=tuple(unanswered),
        not_understood=tuple(not_understood),
        next_nudge=last.next_nudge.key if last.next_nudge else None,
    )


def check_example(script: Script, example: Example) -> list[str]:
    """What an example expected and did not get; empty when it passes."""
    result = simulate(script, example.answers, lang=example.lang)
    expect = example.expect
    failures = []
    for question_id in result.not_understood:
        failures.append(
            f"answer {example.answers[question_id]!r} to {question_id} was not understood"
        )
    if expect.stage is not None and result.stage != expect.stage:
        failures.append(f"stage is {result.stage}, expected {expect.stage}")
    if expect.temperature is not None and result.score.temperature != expect.temperature:
        failures.append(
            f"temperature is {result.score.temperature}, expected {expect.temperature}"
        )
    for question_id, option_id in (expect.options or {}).items():
        got = result.state.answers.get(question_id)
        got_option = got.option_id if got else None
        if got_option != option_id:
            failures.append(f"{question_id} matched {got_option}, expected {option_id}")
    if expect.channel is not None and result.channel != expect.channel:
        failures.append(f"routed to {result.channel or 'the default channel'}, "
                        f"expected {expect.channel}")
    return failures

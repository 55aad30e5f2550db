"""Replay benchmark: how many stored conversations a second `leadbot script replay` runs.

Fills a SQLite database with N conversations the way the bot stores them (leads,
conversations, answers — tapped buttons and typed words — and the answers it did
not understand), then times `ScriptLifecycle.replay` of a candidate script that
raises the SQL threshold: the stored inputs are loaded, and every conversation runs
through the served version and through the candidate with the pure engine. It all
runs in this one process: one core.

Two mixes of answers:

* `typical` — 60 % of answers tapped on buttons, typed answers drawn from the
  phrasings prospects use, numbers varied ("about 37 people", "45k"), one in seven
  prospects first typing something the bot does not understand;
* `unique` — every answer typed, and every typed number different: the worst case
  for replay, where no two conversations share a beginning.

    python benchmarks/replay.py [--conversations N] [--mix typical|unique|both]

Printed: wall time, CPU time of this process and conversations per CPU-second
("of one core": robust to other load on the machine), for a first replay (both
scripts parsed: 10–15 ms each) and a second one (parsed scripts are kept, as in a
workspace session).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.replay import Replayer
from bot.lifecycle.replay_inputs import Attempt, StoredConversation
from conversations.loader import parse_script
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.models import Answer, Conversation, Lead, LeadEvent

DEFAULT_TEXT = (ROOT / "conversations" / "scripts" / "default.yaml").read_text()
REPLAYER = Replayer(parse_script(DEFAULT_TEXT, filename="default.yaml"))
CANDIDATE = DEFAULT_TEXT.replace("thresholds: {mql: 40, sql: 70}", "thresholds: {mql: 40, sql: 80}")
BUTTONS = {
    "sector": ("software", "finance", "healthcare", "retail", "manufacturing", "education",
               "public", "other"),
    "company_size": ("micro", "small", "medium", "large", "enterprise"),
    "budget": ("lt_5k", "5k_20k", "20k_100k", "gt_100k", "unknown"),
    "urgency": ("now", "quarter", "year", "exploring"),
}
SECTOR_WORDS = ("we sell accounting software", "a bank", "hospital", "online store",
                "car parts factory", "a school", "city council", "SaaS startup", "fintech",
                "logiciel", "e-commerce", "clinique")
URGENCY_WORDS = ("asap", "next quarter", "just looking", "dans 3 mois", "this year",
                 "no rush", "in two weeks")


def typed(question: str, rng: random.Random, unique: bool, n: int) -> str:
    if question == "sector":
        return rng.choice(SECTOR_WORDS) + (f" #{n}" if unique else "")
    if question == "company_size":
        return f"about {rng.randrange(2, 5000) if not unique else 2 + n} people"
    if question == "budget":
        return f"{rng.randrange(1, 300) if not unique else 1 + n % 900}k"
    return rng.choice(URGENCY_WORDS) if not unique else f"in {1 + n % 700} days"


def ended_in(rows: list[dict[str, Any]], unmatched: bool) -> dict[str, Any]:
    """The state the bot would have stored for these answers (the engine, run once)."""
    attempts: dict[str, tuple[Attempt, ...]] = {}
    if unmatched:
        attempts["sector"] = (Attempt("blorptastic", None, rows[0]["created_at"], False),)
    for row in rows:
        attempt = Attempt(row["raw_text"], row["option_id"], row["created_at"])
        attempts[row["question_id"]] = (*attempts.get(row["question_id"], ()), attempt)
    stored = StoredConversation(0, 0, "en", None, attempts, ())
    return REPLAYER._flow(stored)[0].model_dump(mode="json")


def seed(url: str, count: int, *, unique: bool) -> None:
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(3)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    leads: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        at = start + timedelta(minutes=n)
        leads.append({"id": n, "channel": "telegram", "chat_id": str(n), "language": "en", "stage": "new",
                          "temperature": "cold", "score": 0, "fit": 0, "intent": 0, "reasons": [],
                          "stopped": False, "created_at": at, "updated_at": at})
        first_answer = len(answers)
        unmatched = rng.random() < 1 / 7
        if unmatched:
            events.append({"lead_id": n, "type": "answer_not_understood", "created_at": at,
                               "payload": {"question_id": "sector", "text": "blorptastic"}})
        for step, question in enumerate(BUTTONS, 1):
            moment = at + timedelta(seconds=step)
            if not unique and rng.random() < 0.6:
                option = rng.choice(BUTTONS[question])
                answers.append({"lead_id": n, "conversation_id": n, "question_id": question,
                                    "raw_text": option, "option_id": option, "via": "button",
                                    "confidence": 1.0, "superseded": False, "created_at": moment})
            else:
                answers.append({"lead_id": n, "conversation_id": n, "question_id": question,
                                    "raw_text": typed(question, rng, unique, n), "option_id": None,
                                    "via": "text", "confidence": 1.0, "superseded": False,
                                    "created_at": moment})
        for step, (question, text) in enumerate((("name", "Ada"), ("company", "Engines"),
                                                 ("email", f"ada{n}@example.com")), 10):
            answers.append({"lead_id": n, "conversation_id": n, "question_id": question,
                                "raw_text": text, "option_id": None, "via": "text", "confidence": 1.0,
                                "superseded": False, "created_at": at + timedelta(seconds=step)})
        state = ended_in(answers[first_answer:], unmatched)
        conversations.append({"id": n, "lead_id": n, "script_id": "b2b-default", "script_version": "x",
                                  "active": True, "status": state["status"], "version_number": 1,
                                  "state": state, "created_at": at, "updated_at": at})
    with engine.begin() as db:
        for model, rows in ((Lead, leads), (Conversation, conversations), (Answer, answers),
                            (LeadEvent, events)):
            db.execute(insert(model.__table__), rows)  # type: ignore[arg-type]
    engine.dispose()


def run(count: int, mix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'replay.db'}"
        seed(url, count, unique=mix == "unique")
        engine = create_database_engine(url)
        service = ScriptLifecycle(create_session_factory(engine))
        service.publish(DEFAULT_TEXT, author="benchmark")
        service._parsed.clear()  # the first replay parses both scripts, as the CLI does
        for label in ("first", "second"):
            began, cpu_began = time.perf_counter(), time.process_time()
            report = service.replay(CANDIDATE)
            seconds = time.perf_counter() - began
            cpu = time.process_time() - cpu_began
            totals = report.totals
            print(f"{mix:8} {label:6} {totals.conversations:6d} conversations: {seconds:6.2f} s "
                  f"wall, {cpu:6.2f} s CPU = {totals.conversations / cpu:6,.0f}/s of one core"
                  f"   (moved down {totals.moved_down}, alerts lost {totals.alerts_lost})")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=5000)
    parser.add_argument("--mix", choices=("typical", "unique", "both"), default="both")
    args = parser.parse_args()
    for mix in ("typical", "unique") if args.mix == "both" else (args.mix,):
        run(args.conversations, mix)


if __name__ == "__main__":
    main()

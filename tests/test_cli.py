"""The `leadbot` command as users run it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "conversations" / "scripts" / "default.yaml"
CORPUS = ROOT.parent / "shared" / "corpus" / "answers-dev.jsonl"
HOT = "software\nabout 120\n50k\nasap\nAda Lovelace\nAnalytical Engines\nada@example.com\nskip\n"
COLD = "school\njust me\n2000 euros\njust looking\n"


def leadbot(*args: str, stdin: str = "", env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "TELEGRAM_", "LEADBOT_", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
        env=full_env, cwd=cwd or ROOT, timeout=120,
    )


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}"}


def test_script_check_default_passes() -> None:
    result = leadbot("script", "check", str(DEFAULT))
    assert result.returncode == 0, result.stderr
    assert "ok — 8 questions, 4 example(s)" in result.stdout


@pytest.mark.parametrize("mutation,expected", [
    (("disqualify_when:\n    answer: {budget: [lt_5k]", "disqualify_when:\n    answer: {budget: [lt5k]"),
     "{line}:14  scoring.disqualify_when.answer.budget: question 'budget' has no option 'lt5k'"),
    (("    type: number\n", "    type: number\n    type: money\n"), "duplicate key 'type'"),
    (('fr: "Quand souhaitez-vous démarrer ?"', 'de: "Wann?"'), "unknown language 'de'"),
    (("id: micro\n        max: 10\n", "id: micro\n        max: ten\n"),
     "questions[1].bands[0].max"),
    (("questions:\n", "questions:\n  - id: [\n"), "YAML syntax error"),
    (("  en: \"Which sector is your company in?\"\n", ""), "missing the en text"),
])
def test_script_check_reports_file_and_line(tmp_path: Path, mutation: tuple[str, str],
                                            expected: str) -> None:
    text = DEFAULT.read_text()
    assert mutation[0] in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(mutation[0], mutation[1], 1))
    # the line where the mutation's last line landed: that is what the message must name
    line = text[: text.index(mutation[0])].count("\n") + mutation[1].count("\n") + 1
    expected = expected.replace("{line}", f"{broken}:{line}")
    result = leadbot("script", "check", str(broken))
    assert result.returncode != 0
    assert f"{broken}:" in result.stderr and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_script_check_runs_examples(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace("expect: {stage: sql, temperature: hot,",
                                       "expect: {stage: mql, temperature: hot,")
    changed = tmp_path / "s.yaml"
    changed.write_text(text)
    result = leadbot("script", "check", str(changed))
    assert result.returncode == 1
    assert "example 'hot SaaS lead reaches SQL': stage is sql, expected mql" in result.stderr


def test_script_match_jsonl() -> None:
    lines = [{"question": "company_size", "text": "about 300 people"},
             {"question": "budget", "text": "15 k€"},
             {"question": "urgency", "text": "dans 3 mois"},
             {"question": "sector", "text": "asdfghjkl"},
             {"question": "email", "text": "Ada@Example.com"},
             {"question": "nope", "text": "x"}]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = leadbot("script", "match", str(DEFAULT), "--jsonl", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["question"], o["option"]) for o in out[:4]] == [
        ("company_size", "large"), ("budget", "5k_20k"), ("urgency", "quarter"), ("sector", None)]
    assert out[0]["value"] == 300 and out[1]["value"] == 15000 and out[2]["value"] == 90
    assert out[4]["value"] == "Ada@example.com" or out[4]["value"] == "ada@example.com"
    assert "error" in out[5] and "error" in out[6] and len(out) == 7


def test_script_match_reads_dates_as_of_date_and_says_what_it_would_ask() -> None:
    lines = [{"question": "urgency", "text": "Q3"},
             {"question": "sector", "text": "software and finance"}]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    march = leadbot("script", "match", str(DEFAULT), "--jsonl", "--date", "2026-03-10",
                    stdin=stdin)
    june = leadbot("script", "match", str(DEFAULT), "--jsonl", "--date", "2026-06-20",
                   stdin=stdin)
    assert march.returncode == 0 and june.returncode == 0, march.stderr + june.stderr
    in_march = [json.loads(line) for line in march.stdout.splitlines()]
    in_june = [json.loads(line) for line in june.stdout.splitlines()]
    assert (in_march[0]["option"], in_june[0]["option"]) == ("year", "quarter")
    assert in_march[0]["accepted"] is True and in_march[0]["did_you_mean"] == []
    assert in_march[1]["accepted"] is False
    assert in_march[1]["did_you_mean"] == ["software", "finance"]


def test_script_match_meets_the_corpus_bar() -> None:
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    stdin = CORPUS.read_text()
    result = leadbot("script", "match", str(DEFAULT), "--jsonl", stdin=stdin)
    expected = [json.loads(line) for line in stdin.splitlines() if line.strip()]
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(got) == len(expected)
    right = sum(g["option"] == e["option"] for g, e in zip(got, expected, strict=True))
    assert right / len(expected) >= 0.97, [
        (e["text"], g["option"], e["option"]) for g, e in zip(got, expected, strict=True)
        if g["option"] != e["option"]]


def test_script_simulate_prints_outcome() -> None:
    answers = {"sector": "we sell accounting software", "company_size": "about 120",
               "budget": "50k", "urgency": "asap"}
    result = leadbot("script", "simulate", str(DEFAULT), "--answers", json.dumps(answers))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["stage"] == "mql" and out["temperature"] == "hot"
    assert out["scores"] == {"fit": 40, "intent": 55, "total": 95}
    assert out["answers"]["budget"]["option"] == "20k_100k"
    assert out["answers"]["budget"]["value"] == 50000
    assert out["unanswered"] == ["name"]


def test_script_simulate_bad_input() -> None:
    result = leadbot("script", "simulate", str(DEFAULT), "--answers", "{nope")
    assert result.returncode != 0 and "not valid JSON" in result.stderr
    result = leadbot("script", "simulate", str(DEFAULT), "--answers", '{"colour": "red"}')
    assert result.returncode != 0 and "no question 'colour'" in result.stderr


def test_chat_hot_lead_reaches_sql_and_shows_the_alert(db_env: dict[str, str]) -> None:
    result = leadbot("chat", "--chat-id", "demo", stdin=HOT, env=db_env)
    assert result.returncode == 0, result.stderr
    assert "→ MQL" in result.stdout and "→ SQL" in result.stdout
    assert "this is the alert sales would get" in result.stdout
    assert "Analytical Engines" in result.stdout


def test_chat_cold_lead_does_not_reach_sql(db_env: dict[str, str]) -> None:
    result = leadbot("chat", "--chat-id", "cold", stdin=COLD, env=db_env)
    assert result.returncode == 0, result.stderr
    assert "→ SQL" not in result.stdout and "→ DISQUALIFIED" in result.stdout
    assert "alert sales would get" not in result.stdout


def test_chat_in_french_with_numbered_choices(db_env: dict[str, str]) -> None:
    result = leadbot("chat", "--chat-id", "fr", "--lang", "fr", stdin="2\n", env=db_env)
    assert result.returncode == 0, result.stderr
    assert "Dans quel secteur" in result.stdout and "1. Logiciel & SaaS" in result.stdout
    assert result.stdout.count("Dans quel secteur") == 1  # asked once, already in French
    assert "✓ Finance & assurance" in result.stdout
    assert "Combien de personnes" in result.stdout


def test_chat_interrupted_and_restarted_resumes(db_env: dict[str, str]) -> None:
    first = leadbot("chat", "--chat-id", "r", stdin="software\n45\n", env=db_env)
    assert first.returncode == 0
    second = leadbot("chat", "--chat-id", "r", stdin="", env=db_env)
    assert "Welcome back" in second.stdout
    assert "What budget do you have in mind" in second.stdout
    assert "Which sector" not in second.stdout


def test_bad_settings_fail_with_one_line(tmp_path: Path) -> None:
    result = leadbot("chat", stdin="", env={"DATABASE_URL": "not a url", "PORT": "80"})
    assert result.returncode != 0
    assert result.stderr.strip().startswith("leadbot: DATABASE_URL")
    assert "Traceback" not in result.stderr
    result = leadbot("chat", stdin="", env={"LEADBOT_SCRIPT": str(tmp_path / "missing.yaml")})
    assert result.returncode != 0 and "no such file" in result.stderr


def test_db_upgrade(db_env: dict[str, str]) -> None:
    result = leadbot("db", "upgrade", env=db_env)
    assert result.returncode == 0, result.stderr
    from sqlalchemy import create_engine

    from storage import migrate

    engine = create_engine(db_env["DATABASE_URL"])
    try:
        assert f"revision {migrate.head_revision(engine)}" in result.stdout
    finally:
        engine.dispose()


def test_chat_resumed_with_another_language_switches(db_env: dict[str, str]) -> None:
    leadbot("chat", "--chat-id", "lang", stdin="software\n", env=db_env)
    result = leadbot("chat", "--chat-id", "lang", "--lang", "fr", stdin="", env=db_env)
    assert "Je parlerai français" in result.stdout
    assert "Combien de personnes" in result.stdout


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", [("run",), ("serve", "--host", "127.0.0.1")])
def test_an_unreachable_bot_api_at_start_fails_with_one_line(
        command: tuple[str, ...], db_env: dict[str, str], fake_telegram: Any) -> None:
    """`run` and `serve` alike: the reason on one line, exit 1, no traceback on stderr's
    last line; and a token Telegram refuses says so."""
    env = {**db_env, "TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "s3cret",
           "PORT": str(_closed_port()), "LEADBOT_AUTO_MIGRATE": "true"}
    api = f"http://127.0.0.1:{_closed_port()}/bot"
    result = leadbot(*command, env={**env, "TELEGRAM_API_BASE_URL": api})
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"leadbot: cannot reach the Telegram Bot API at {api}"), last
    assert "Task exception was never retrieved" not in result.stderr

    refused = leadbot(*command, env={**env, "TELEGRAM_API_BASE_URL": fake_telegram.base_url})
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        "leadbot: Telegram rejected TELEGRAM_BOT_TOKEN; copy the token again from @BotFather")

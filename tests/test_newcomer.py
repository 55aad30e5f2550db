"""Rough edges a newcomer meets first: each test here failed before its fix."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.reports.attribution import Attribution
from bot.reports.campaigns import CampaignFileError, parse_campaigns
from bot.reports.funnel import group_report
from bot.reports.queries import LeadFacts
from bot.slack.commands import select_leads
from storage.unit_of_work import UnitOfWork
from tests.test_cli import DEFAULT, ROOT, leadbot


def test_the_french_terminal_chat_greets_and_hints_in_french(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}"}
    result = leadbot("chat", "--chat-id", "fr", "--lang", "fr", stdin="", env=env)
    assert result.returncode == 0, result.stderr
    assert "bot: Bonjour ! Je suis Leadbot." in result.stdout
    assert "there" not in result.stdout
    assert "(tapez un numéro ou votre propre réponse)" in result.stdout
    assert "type a number" not in result.stdout


def test_a_port_in_use_is_one_line_naming_the_port_and_PORT(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = leadbot("serve", env={"PORT": str(port),
                                       "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("leadbot:")]
    assert f"port {port} is already in use" in line and "set PORT to a free port" in line


def test_serve_without_a_webhook_secret_refuses_before_touching_the_database(
    tmp_path: Path,
) -> None:
    database = tmp_path / "untouched.db"
    result = leadbot("serve", env={"TELEGRAM_BOT_TOKEN": "123:abc",
                                   "DATABASE_URL": f"sqlite:///{database}"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("leadbot: TELEGRAM_WEBHOOK_SECRET is not set")
    assert "Running upgrade" not in result.stderr
    assert not database.exists()


def test_the_campaigns_file_is_a_yaml_list_as_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "a YAML list of campaigns" in readme
    spend = parse_campaigns("- id: q3launch\n  source: linkedin\n  spend: 1200\n"
                            "- {id: may, spend: 300, currency: USD}\n", filename="c.yaml")
    assert [(c.label, c.spend, c.currency) for c in spend] == [
        ("linkedin/q3launch", 1200.0, "EUR"), ("may", 300.0, "USD")]
    with pytest.raises(CampaignFileError) as caught:
        parse_campaigns("- id: q3launch\n  spend: 1200\n- id: may\n  spend: lots\n",
                        filename="c.yaml")
    assert str(caught.value).startswith("c.yaml:4:")
    assert "campaigns[1].spend" in str(caught.value)


def test_script_check_reports_every_independent_problem_in_one_run(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        'id: broken\ngreeting: "Hi"\ngreeting: "Hello"\nquestions:\n'
        '  - id: sector\n    type: choice\n    ask: "Sector?"\n    colour: blue\n'
        '    options: [{id: software, label: Software}]\n', encoding="utf-8")
    result = leadbot("script", "check", str(broken))
    assert result.returncode == 1
    assert f"{broken}:3:1  greeting: duplicate key 'greeting'" in result.stderr
    assert f"{broken}:8:5  questions[0].colour: unknown key" in result.stderr


def test_script_check_gives_a_failing_example_its_line(tmp_path: Path) -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    text = text.replace("    expect: {stage: sql", "    expect: {stage: mql", 1)
    path = tmp_path / "examples.yaml"
    path.write_text(text, encoding="utf-8")
    line = 1 + text.splitlines().index("examples:") + 1  # the first example's `- name:`
    result = leadbot("script", "check", str(path))
    assert result.returncode == 1
    assert f"{path}:{line}: example 'hot SaaS lead reaches SQL': stage is sql, expected mql" \
        in result.stderr


def test_leads_mine_finds_a_reps_lead_behind_hundreds_of_newer_ones(
    slack_db: sessionmaker[Session],
) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    with UnitOfWork(slack_db) as uow:
        old = uow.leads.get_or_create_locked("telegram", "old", now=now - timedelta(days=30))
        old.stage, old.owner_id = "mql", "U0SAM0001"
        old.updated_at = now - timedelta(days=30)
        for number in range(520):
            lead = uow.leads.get_or_create_locked("telegram", str(number), now=now)
            lead.stage, lead.updated_at = "sql", now
        uow.commit()
    with UnitOfWork(slack_db) as uow:
        mine = select_leads(uow, scope="mine", user_id="U0SAM0001", now=now)
        assert [lead.chat_id for lead in mine] == ["old"]
        today = select_leads(uow, scope="today", user_id="U0SAM0001", now=now)
        assert len(today) == 15 and "old" not in {lead.chat_id for lead in today}


def test_report_conversion_counts_leads_that_could_reach_a_step_and_stays_under_100() -> None:
    """Email is asked only of MQLs: 3 of 10 leads. All 10 complete."""
    at = datetime(2026, 11, 1, tzinfo=UTC)

    def fact(number: int, answered: frozenset[str]) -> LeadFacts:
        return LeadFacts(number, at, "en", None, Attribution(None, None, None), "engaged", None,
                         answered, None, True, None, None)

    facts = [fact(i, frozenset({"sector", "email"} if i < 3 else {"sector"})) for i in range(10)]
    report = group_report("all", facts, ["sector", "email"])
    rates = {(s.name, s.question): s.conversion for s in report.steps}
    assert rates[("reached", "email")] == 1.0  # the 3 it was asked of all reached it
    assert rates[("completed", None)] == 1.0  # 10 of the 10 past email (3 + 7 around it)
    assert all(s.conversion is None or s.conversion <= 1.0 for s in report.steps)
    assert report.count("completed") == 10 and report.count("answered", "email") == 3

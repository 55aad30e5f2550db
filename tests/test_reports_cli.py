"""`leadbot report` on a database seeded through the real service: every figure is checked
against what the simulation did (tests/test_reports_seed.py), in table, CSV, JSON and HTML.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli_reports import report
from bot.reports.stats import human_duration
from tests.test_reports_seed import (
    QUESTIONS,
    Prospect,
    Seeded,
    seeded_database,
)

CAMPAIGNS = Path(__file__).parent / "data" / "campaigns.yaml"
SPEND = {"linkedin/q3launch": 1500.0, "google/q3launch": 900.0, "may": 300.0, "webinar": 250.0}

@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_database(tmp_path_factory)



def run(seeded: Seeded, *args: str) -> Result:
    result = CliRunner().invoke(report, list(args), env={"DATABASE_URL": seeded.url})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# --- what the simulation says the report must show ------------------------------


def funnel(prospects: Sequence[Prospect]) -> list[tuple[str, str | None, int]]:
    steps: list[tuple[str, str | None, int]] = [("started", None, len(prospects))]
    for q in QUESTIONS:
        steps.append(("reached", q, sum(p.reached(q) for p in prospects)))
        steps.append(("answered", q, sum(q in p.plan.answered for p in prospects)))
    steps += [
        ("completed", None, sum(p.plan.completed for p in prospects)),
        ("mql", None, sum(p.is_mql for p in prospects)),
        ("sql", None, sum(p.is_sql for p in prospects)),
        ("claimed", None, sum(p.claimed for p in prospects)),
    ]
    return steps


def in_steps(p: Prospect) -> list[bool]:
    """Whether the prospect is in each funnel step, in the order of `funnel`."""
    steps = [True]
    for q in QUESTIONS:
        steps += [p.reached(q), q in p.plan.answered]
    return steps + [p.plan.completed, p.is_mql, p.is_sql, p.claimed]


def conversion(prospects: Sequence[Prospect], index: int) -> float:
    """Of the prospects who could reach step `index` — past the step above (in it, or
    further down the questions without it) and not gone around this one — the share in it."""
    flow_end = 1 + 2 * len(QUESTIONS) + 1  # started, the questions' steps, completed

    def further(steps: list[bool], at: int) -> bool:
        return any(steps[at + 1:flow_end])

    could = reached = 0
    for p in prospects:
        steps = in_steps(p)
        past_above = steps[index - 1] or further(steps, index - 1)
        around = not steps[index] and further(steps, index)
        if past_above and not around:
            could += 1
            reached += steps[index]
    return reached / could


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, written out independently."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def seconds_to(prospects: Sequence[Prospect], stage: str) -> list[float]:
    values = [p.mql_seconds if stage == "mql" else p.sql_seconds for p in prospects]
    return [v for v in values if v is not None]


def in_campaign(p: Prospect, label: str) -> bool:
    source, _, campaign = label.rpartition("/")
    return p.campaign == campaign and (not source or p.source == source)


def costs(prospects: Sequence[Prospect]) -> dict[str, dict[str, float | int | None]]:
    result: dict[str, dict[str, float | int | None]] = {}
    for label, spend in SPEND.items():
        # `may` has no source: it takes every source's "may" (only newsletter runs it).
        members = [p for p in prospects if in_campaign(p, label)]
        leads, mql, sql = len(members), sum(p.is_mql for p in members), sum(p.is_sql for p in members)
        result[label] = {
            "leads": leads, "mql": mql, "sql": sql, "spend": spend,
            "cost_per_lead": round(spend / leads, 2) if leads else None,
            "cost_per_mql": round(spend / mql, 2) if mql else None,
            "cost_per_sql": round(spend / sql, 2) if sql else None,
        }
    return result


# --- the checks --------------------------------------------------------------------


def test_simulation_is_varied_enough_to_test_something(seeded: Seeded) -> None:
    steps = {(n, q): c for n, q, c in funnel(seeded.prospects)}
    assert 0 < steps[("sql", None)] < steps[("mql", None)] < steps[("started", None)]
    assert all(steps[("reached", q)] > steps[("answered", q)] for q in ("sector", "urgency"))
    assert len(set(seconds_to(seeded.prospects, "sql"))) > 3
    assert sum(c["sql"] for c in costs(seeded.prospects).values()) > 0  # type: ignore[misc]


def test_json_report_matches_the_simulation(seeded: Seeded) -> None:
    result = run(seeded, "--format", "json", "--campaigns", str(CAMPAIGNS))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["questions"] == list(QUESTIONS)
    (total,) = data["groups"]
    expected = funnel(seeded.prospects)
    assert [(s["step"], s["question"], s["count"]) for s in total["funnel"]] == expected
    for index, step in enumerate(total["funnel"][1:], 1):
        assert step["conversion"] == pytest.approx(conversion(seeded.prospects, index), abs=1e-4)
        assert step["conversion"] <= 1.0
    for drop in total["drop_off"]:
        q = drop["question"]
        reached = sum(p.reached(q) for p in seeded.prospects)
        answered = sum(q in p.plan.answered for p in seeded.prospects)
        assert (drop["reached"], drop["dropped"]) == (reached, reached - answered)
        assert drop["rate"] == pytest.approx((reached - answered) / reached, abs=1e-4)
    for stage in ("mql", "sql"):
        values = seconds_to(seeded.prospects, stage)
        timing = total[f"time_to_{stage}"]
        assert timing["count"] == len(values)
        assert timing["median_seconds"] == pytest.approx(statistics.median(values), abs=0.1)
        assert timing["p90_seconds"] == pytest.approx(quantile(values, 0.9), abs=0.1)
    got = {c["campaign"]: c for c in data["costs"]}
    for label, want in costs(seeded.prospects).items():
        assert {k: got[label][k] for k in want} == want, label
    assert got["webinar"]["cost_per_sql"] is None


def test_csv_report_has_the_same_figures(seeded: Seeded) -> None:
    result = run(seeded, "--format", "csv", "--campaigns", str(CAMPAIGNS))
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["group", "step", "question", "metric", "value", "unit"]
    cell = {(r["group"], r["step"], r["question"], r["metric"]): r["value"] for r in rows}
    for name, question, count in funnel(seeded.prospects):
        assert cell[("all", name, question or "", "count")] == str(count)
    sql = seconds_to(seeded.prospects, "sql")
    assert float(cell[("all", "time_to_sql", "", "median")]) == pytest.approx(
        statistics.median(sql), abs=0.1)
    assert float(cell[("all", "time_to_sql", "", "p90")]) == pytest.approx(
        quantile(sql, 0.9), abs=0.1)
    reached = sum(p.reached("budget") for p in seeded.prospects)
    dropped = reached - sum("budget" in p.plan.answered for p in seeded.prospects)
    assert cell[("all", "drop_off", "budget", "dropped")] == str(dropped)
    assert float(cell[("all", "drop_off", "budget", "rate")]) == pytest.approx(
        dropped / reached, abs=1e-4)
    for label, want in costs(seeded.prospects).items():
        value = cell[(label, "cost", "", "cost_per_sql")]
        assert (float(value) if value else None) == want["cost_per_sql"], label
        assert cell[(label, "cost", "", "sql")] == str(want["sql"])


def test_table_report_is_readable_and_right(seeded: Seeded) -> None:
    result = run(seeded, "--campaigns", str(CAMPAIGNS))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()

    def row(label: str) -> list[str]:
        (line,) = [l for l in lines if l.startswith(label + "  ")]
        return line[len(label):].split()

    for name, question, count in funnel(seeded.prospects):
        assert row(f"{name} {question}" if question else name)[0] == str(count)
    sql = seconds_to(seeded.prospects, "sql")
    assert " ".join(row("to SQL median")) == human_duration(statistics.median(sql))
    assert " ".join(row("to SQL p90")) == human_duration(quantile(sql, 0.9))
    want = costs(seeded.prospects)["linkedin/q3launch"]
    assert f"{want['cost_per_sql']:,.2f} EUR" in " ".join(row("linkedin/q3launch"))


@pytest.mark.parametrize(
    ("by", "key"),
    [("source", lambda p: p.source or "(none)"),
     ("campaign", lambda p: p.campaign or "(none)"),
     ("language", lambda p: p.language)],
)
def test_grouped_report(seeded: Seeded, by: str, key: Callable[[Prospect], str]) -> None:
    result = run(seeded, "--by", by, "--format", "json")
    assert result.exit_code == 0, result.stderr
    groups = {g["group"]: g for g in json.loads(result.stdout)["groups"]}
    names = {key(p) for p in seeded.prospects}
    assert set(groups) == names | {"all"}
    for name in names:
        members = [p for p in seeded.prospects if key(p) == name]
        got = groups[name]
        assert [(s["step"], s["question"], s["count"]) for s in got["funnel"]] == funnel(members)
        sql = seconds_to(members, "sql")
        assert got["time_to_sql"]["median_seconds"] == pytest.approx(
            statistics.median(sql) if sql else None, abs=0.1)


def test_period_and_script_filters(seeded: Seeded) -> None:
    day_two = [p for p in seeded.prospects if p.created_at.date().isoformat() == "2024-05-02"]
    assert 0 < len(day_two) < len(seeded.prospects)
    result = run(seeded, "--since", "2024-05-02", "--until", "2024-05-02", "--format", "json")
    (total,) = json.loads(result.stdout)["groups"]
    assert [(s["step"], s["question"], s["count"]) for s in total["funnel"]] == funnel(day_two)
    same = json.loads(run(seeded, "--script", "b2b-default", "--format", "json").stdout)
    assert same["groups"][0]["leads"] == len(seeded.prospects)
    other = json.loads(run(seeded, "--script", "another", "--format", "json").stdout)
    assert other["groups"][0]["leads"] == 0
    assert other["groups"][0]["time_to_sql"]["median_seconds"] is None


def test_unmatched_answers_are_folded_and_counted(seeded: Seeded) -> None:
    result = run(seeded, "unmatched", "--format", "json")
    assert result.exit_code == 0, result.stderr
    items = {(u["question"], u["text"]): u for u in json.loads(result.stdout)}
    gibberish = sum(p.plan.name == "stop_size" for p in seeded.prospects)
    bad_email = sum(p.plan.name == "mql_email" for p in seeded.prospects)
    assert items[("company_size", "blorf zyx")]["count"] == gibberish
    assert items[("company_size", "blorf zyx")]["leads"] == gibberish
    assert items[("email", "not an email")]["count"] == bad_email
    order = [u["question"] for u in json.loads(result.stdout)]
    assert order.index("company_size") < order.index("email")  # script order
    only = run(seeded, "unmatched", "--question", "email", "--limit", "1").stdout
    assert "not an email" in only and "blorf" not in only
    assert "blorf zyx" in run(seeded, "unmatched").stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "last tuesday"], "--since 'last tuesday' is not a date"),
        (["--until", "2024-02-30"], "is not a date"),
        (["--since", "2024-05-03", "--until", "2024-05-01"], "not after"),
        (["--by", "country"], "--by 'country' is not one of source, campaign, language"),
        (["--format", "xml"], "--format 'xml' is not one of"),
        (["--campaigns", "/nonexistent/campaigns.yaml"], "no such file"),
        (["unmatched", "--limit", "0"], "--limit 0"),
    ],
)
def test_expected_mistakes_are_one_line(seeded: Seeded, args: list[str], says: str) -> None:
    result = run(seeded, *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_broken_campaigns_file_names_the_line(seeded: Seeded, tmp_path: Path) -> None:
    broken = tmp_path / "c.yaml"
    broken.write_text("campaigns:\n  - id: q3\n    spend: lots\n", encoding="utf-8")
    result = run(seeded, "--campaigns", str(broken))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"leadbot: {broken}:3:") and "spend" in result.stderr


def test_missing_database_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(report, [], env={"DATABASE_URL": f"sqlite:///{tmp_path}/no.db"})
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not (tmp_path / "no.db").exists()  # reports never create a database


def test_database_without_tables_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    result = CliRunner().invoke(report, [], env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"})
    assert result.exit_code == 1 and "leadbot db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_registered_in_the_leadbot_command(seeded: Seeded) -> None:
    """Through `python -m bot.cli`, once the lead adds `main.add_command(report)`."""
    from bot.cli import main

    if "report" not in main.commands:
        pytest.skip("`report` is not registered in bot/cli.py yet")
    env = {**os.environ, "DATABASE_URL": seeded.url}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    total = json.loads(done.stdout)["groups"][0]
    assert total["leads"] == len(seeded.prospects)


@pytest.mark.postgres
def test_same_figures_on_postgresql() -> None:
    from tests.databases import fresh_postgres_database, postgres_unavailable_reason
    from tests.test_reports_seed import seed_url

    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        small = seed_url(url, count=36)
        result = run(small, "--format", "json", "--campaigns", str(CAMPAIGNS))
        assert result.exit_code == 0, result.stderr
        total = json.loads(result.stdout)["groups"][0]
        assert [(s["step"], s["question"], s["count"]) for s in total["funnel"]] == funnel(
            small.prospects)
        sql = seconds_to(small.prospects, "sql")
        assert total["time_to_sql"]["median_seconds"] == pytest.approx(statistics.median(sql))
        unmatched = json.loads(run(small, "unmatched", "--format", "json").stdout)
        assert {u["text"] for u in unmatched} == {"blorf zyx", "not an email"}

"""`leadbot export leads`: one row per lead for CRMs, CSV (formula-safe) and JSON Lines,
checked against the simulation that seeded the database through the real service."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli_reports import export
from bot.reports.export import csv_columns
from tests.test_reports_seed import (
    EVIL_COMPANY,
    PROSPECTS,
    QUESTIONS,
    Prospect,
    Seeded,
    seeded_database,
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_database(tmp_path_factory)

def run(seeded: Seeded, *args: str) -> Result:
    result = CliRunner().invoke(export, ["leads", *args], env={"DATABASE_URL": seeded.url})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def expected_stage(p: Prospect) -> str:
    if p.is_sql:
        return "sql"
    if p.is_mql:
        return "mql"
    if p.plan.name == "disqualified":
        return "disqualified"
    return "engaged" if p.plan.moves else "new"


def moment(p: Prospect, seconds: float | None) -> str | None:
    return None if seconds is None else (p.created_at + timedelta(seconds=seconds)).isoformat()


def test_jsonl_has_one_record_per_lead_with_everything(seeded: Seeded) -> None:
    result = run(seeded, "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    records = {r["chat_id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert len(records) == PROSPECTS
    for p in seeded.prospects:
        r = records[p.chat_id]
        assert r["stage"] == expected_stage(p), p.plan.name
        assert r["source_payload"] == p.payload
        assert (r["source"], r["campaign"]) == (p.source, p.campaign)
        assert r["language"] == p.language and r["first_name"] == f"P{p.index}"
        assert r["owner_id"] == ("U0SALES" if p.claimed else None)
        assert r["created_at"] == p.created_at.isoformat()
        assert r["mql_at"] == moment(p, p.mql_seconds)
        assert r["sql_at"] == moment(p, p.sql_seconds)
        assert set(r["answers"]) == set(p.plan.answered)
        assert r["company"] == p.company
        assert isinstance(r["score"], int) and isinstance(r["reasons"], list)
        if p.plan.name == "sql_skip":
            assert r["answers"]["sector"]["option"] == "healthcare"
            assert r["answers"]["budget"]["option"] == "gt_100k"
            assert r["answers"]["email"]["text"] == "ada@example.com"
            assert r["email"] == "ada@example.com"


def test_csv_columns_answers_and_formula_safety(seeded: Seeded) -> None:
    result = run(seeded)  # csv is the default
    assert result.exit_code == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == csv_columns(QUESTIONS)
    rows = {r["chat_id"]: r for r in reader}
    assert len(rows) == PROSPECTS
    evil = [p for p in seeded.prospects if p.company == EVIL_COMPANY]
    assert evil, "the simulation must type a formula somewhere"
    for p in seeded.prospects:
        row = rows[p.chat_id]
        assert row["stage"] == expected_stage(p)
        assert row["medium"] == (p.payload.split("-")[2] if p.payload and "-" in p.payload
                                 and p.payload.count("-") == 2 else "")
        for question in QUESTIONS:
            if question not in p.plan.answered:
                assert row[f"answer_{question}_option"] == row[f"answer_{question}_text"] == ""
        if p.company == EVIL_COMPANY:
            assert row["company"] == "'" + EVIL_COMPANY
            assert row["answer_company_text"] == "'" + EVIL_COMPANY
        for value in row.values():
            if not re.fullmatch(r"-?\d+(\.\d+)?", value):  # numbers stay numbers (score -15)
                assert not value.startswith(("=", "+", "-", "@")), value
    sql = next(p for p in seeded.prospects if p.plan.name == "sql_open")
    assert rows[sql.chat_id]["answer_urgency_option"] == "now"
    assert rows[sql.chat_id]["answer_company_size_option"] == "medium"


def test_since_until_and_output_file(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "leads.jsonl"
    result = run(seeded, "--format", "jsonl", "--since", "2024-05-02", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    want = [p for p in seeded.prospects if p.created_at >= datetime.fromisoformat(
        "2024-05-02T00:00:00+00:00")]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(want) and result.stdout == ""
    assert f"wrote {len(want)} lead(s) to {out}" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["leads.jsonl"]  # no partial file left


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--format", "xlsx"], "--format 'xlsx' is not one of csv, jsonl"),
     (["--since", "May"], "--since 'May' is not a date"),
     (["--output", "/nonexistent-dir/leads.csv"], "cannot write /nonexistent-dir/leads.csv")],
)
def test_export_mistakes_are_one_line(seeded: Seeded, args: list[str], says: str) -> None:
    result = run(seeded, *args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr


def test_records_are_plain_json(seeded: Seeded) -> None:
    first: dict[str, Any] = json.loads(run(seeded, "--format", "jsonl").stdout.splitlines()[0])
    assert list(first)[:3] == ["lead_id", "channel", "chat_id"]

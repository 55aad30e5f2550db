"""`leadbot script publish|history|show|diff|rollback|replay|synonym add`, `leadbot experiment`
and `leadbot report --by variant`: each a face of the lifecycle service; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from tests.lifecycle_helpers import DEFAULT_TEXT, SECTOR_ASK, migrated, variant_of


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url,
                                                      "LEADBOT_AUTHOR": "marketing-ada"})


def one_error_line(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("leadbot: ") and expected in lines[-1], result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_publish_history_show_diff_rollback(sqlite_url: str, tmp_path: Path) -> None:
    first, second, broken = tmp_path / "v1.yaml", tmp_path / "v2.yaml", tmp_path / "bad.yaml"
    first.write_text(DEFAULT_TEXT)
    second.write_text(variant_of(DEFAULT_TEXT, SECTOR_ASK, "Your sector?"))
    broken.write_text(DEFAULT_TEXT.replace("type: number", "type: numbr"))

    published = run(sqlite_url, "script", "publish", str(first), "--note", "launch")
    assert published.exit_code == 0 and "published version 1" in published.output
    refused = run(sqlite_url, "script", "publish", str(broken))
    one_error_line(refused, f"1 problem(s) in {broken}; nothing was published")
    assert f"{broken}:" in refused.stderr and "unknown question type 'numbr'" in refused.stderr
    assert run(sqlite_url, "script", "publish", str(second), "--note", "short").exit_code == 0

    history = run(sqlite_url, "script", "history")
    assert history.exit_code == 0
    rows = [line.split() for line in history.output.splitlines()[2:4]]
    assert rows[0][:2] == ["*", "v2"] and "marketing-ada" in rows[0]
    assert rows[1][0] == "v1"
    listed = json.loads(run(sqlite_url, "script", "history", "--format", "json").output)
    assert [(v["number"], v["note"]) for v in listed] == [(2, "short"), (1, "launch")]

    assert run(sqlite_url, "script", "show", "1").output == DEFAULT_TEXT
    diff = run(sqlite_url, "script", "diff", "1", "2")
    assert diff.exit_code == 0 and "~ questions.sector.ask:" in diff.output
    rolled = run(sqlite_url, "script", "rollback", "--note", "oops")
    assert rolled.exit_code == 0 and "serving version 1 again" in rolled.output

    one_error_line(run(sqlite_url, "script", "show", "9"), "no script version 9")
    one_error_line(run(sqlite_url, "script", "rollback", "9"), "no script version 9")
    one_error_line(run(sqlite_url, "script", "publish", str(tmp_path / "nope.yaml")),
                   "no such file")
    not_a_script = tmp_path / "list.yaml"
    not_a_script.write_text("- a\n- b\n")
    one_error_line(run(sqlite_url, "script", "publish", str(not_a_script)), "nothing was published")
    with migrated(sqlite_url) as db:
        assert [d.kind for d in db.lifecycle.deployments()] == ["rollback", "publish", "publish"]


def test_replay_synonym_and_experiments(sqlite_url: str, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}",
                                    "thresholds: {mql: 40, sql: 80}"))
    assert run(sqlite_url, "script", "publish", str(tmp_path.joinpath("x.yaml"))).exit_code == 1
    (tmp_path / "x.yaml").write_text(DEFAULT_TEXT)
    assert run(sqlite_url, "script", "publish", str(tmp_path / "x.yaml")).exit_code == 0

    replay = run(sqlite_url, "script", "replay", str(candidate))
    assert replay.exit_code == 0, replay.output
    assert "Replayed 0 conversation(s) against v1" in replay.output
    report = json.loads(run(sqlite_url, "script", "replay", str(candidate), "--format",
                            "json").output)
    assert report["totals"]["conversations"] == 0
    one_error_line(run(sqlite_url, "script", "replay", str(candidate), "--since", "yesterday"),
                   "--since")

    added = run(sqlite_url, "script", "synonym", "add", "sector", "retail", "boutique chic",
                "--lang", "fr", "--publish", "--note", "from the inbox")
    assert added.exit_code == 0, added.output
    assert "published version 2; it understands 0 stored unmatched answer(s)" in added.output
    shown = run(sqlite_url, "script", "show", "2").output
    assert "boutique chic]" in shown and shown.count("\n") == DEFAULT_TEXT.count("\n")
    one_error_line(run(sqlite_url, "script", "synonym", "add", "sector", "shops", "x"),
                   "no option 'shops' in question 'sector'; its options are software,")
    one_error_line(run(sqlite_url, "script", "synonym", "add", "sector", "retail", "x",
                       "--lang", "de"), "no language 'de'")

    for args, message in (
        (("--variant", "a=1:50", "--variant", "b=2:40"), "add up to 90"),
        (("--variant", "a=1:50", "--variant", "b=2:fifty"), "not a positive whole number"),
        (("--variant", "a=1:50", "--variant", "b=9:50"), "no script version 9"),
    ):
        one_error_line(run(sqlite_url, "experiment", "start", "t", *args), message)
    one_error_line(run(sqlite_url, "experiment", "status"), "no experiment yet")
    started = run(sqlite_url, "experiment", "start", "t", "--variant", "a=1:50",
                  "--variant", "b=2:50")
    assert started.exit_code == 0 and "a=v1 50 %, b=v2 50 %" in started.output
    status = run(sqlite_url, "experiment", "status")
    assert "Experiment t: running" in status.output and "a (v1, 50 %)" in status.output
    by_variant = json.loads(run(sqlite_url, "report", "--by", "variant", "--format",
                                "json").output)
    assert [v["variant"] for v in by_variant["variants"]] == ["a", "b"]
    one_error_line(run(sqlite_url, "experiment", "stop", "t", "--keep", "c"), "no variant 'c'")
    stopped = run(sqlite_url, "experiment", "stop", "t", "--keep", "b")
    assert stopped.exit_code == 0 and "everyone gets version 2" in stopped.output

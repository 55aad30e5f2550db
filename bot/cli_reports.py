"""`leadbot report` (funnel, unmatched answers, HTML page) and `leadbot export leads`.

Registered on the main CLI with `main.add_command(report)` and
`main.add_command(export)`. Expected mistakes — a bad date, an unknown `--by`,
an unreadable campaigns file, a missing database — print one line on stderr
and exit 1, never a traceback. Options are checked here rather than with
`click.Choice` so that the error is that one line, not a usage screen.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TextIO

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from bot.reports.campaigns import CampaignFileError, load_campaigns
from bot.reports.costs import campaign_costs
from bot.reports.export import answered_questions, export_records, write_csv, write_jsonl
from bot.reports.formats import render_csv, render_json, render_text
from bot.reports.funnel import GROUPINGS, Filters, build_report, is_mql, is_sql, order_questions
from bot.reports.html import render_html
from bot.reports.periods import PeriodError, parse_period
from bot.reports.queries import Window, load_lead_facts, questions_seen
from bot.reports.reading import DatabaseMissing, open_read_engine
from bot.reports.table import render_table
from bot.reports.unmatched import count_unmatched, load_unmatched_texts

REPORT_FORMATS = ("table", "csv", "json")
EXPORT_FORMATS = ("csv", "jsonl")


def fail(message: str) -> NoReturn:
    click.echo(f"leadbot: {message}", err=True)
    sys.exit(1)


def _check_choice(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        fail(f"{option} {value!r} is not one of {', '.join(allowed)}")


def _period(since: str | None, until: str | None) -> tuple[Filters, Window]:
    try:
        start, stop = parse_period(since, until)
    except PeriodError as exc:
        fail(str(exc))
    return Filters(start, stop, None, None), Window(start, stop)


@contextmanager
def _session() -> Iterator[Session]:
    """A read-only session on DATABASE_URL; database errors become one line."""
    from bot.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "a setting"
        fail(f"{name}: {error['msg'].removeprefix('Value error, ')}; fix the environment variable")
    try:
        engine = open_read_engine(settings.database_url)
    except DatabaseMissing as exc:
        fail(f"no database at {exc}; check DATABASE_URL (or run `leadbot db upgrade`)")
    try:
        with Session(engine) as session:
            yield session
    except (OperationalError, ProgrammingError) as exc:
        fail(f"cannot read the database ({str(exc.orig).splitlines()[0]}); "
             "check DATABASE_URL and run `leadbot db upgrade`")
    finally:
        engine.dispose()


def _script_questions(script_id: str | None) -> tuple[str, ...]:
    """Question order of the active script (LEADBOT_SCRIPT) when it is the one reported on."""
    from bot.settings import Settings
    from conversations.loader import ScriptError, load_script

    try:
        loaded = load_script(Settings().leadbot_script)
    except (ScriptError, ValidationError):
        return ()  # report anyway; questions then come from the data, by name
    if script_id is not None and loaded.script.id != script_id:
        return ()
    return tuple(loaded.script.question_ids())


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or a file written next to its final name and moved in place when complete."""
    if path is None:
        yield sys.stdout
        return
    partial = path.with_name(path.name + ".partial")
    try:
        handle = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror}); check the directory exists and is writable")
    try:
        with handle:
            yield handle
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# --- report ----------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--since", help="First day (YYYY-MM-DD) of the leads' first message.")
@click.option("--until", help="Last day included (YYYY-MM-DD), or a moment excluded.")
@click.option("--script", "script_id", help="Only conversations of this script id.")
@click.option("--by", help="Group by source, campaign or language; or variant (an A/B "
              "experiment: the latest, or --experiment NAME).")
@click.option("--experiment", "experiment_name", help="With --by variant: which experiment.")
@click.option("--format", "fmt", help="table (default), csv or json.")
@click.option("--campaigns", "campaigns_path", type=click.Path(path_type=Path),
              help="Campaign spend file (YAML) for cost per lead, MQL and SQL.")
@click.option("--html", "html_path", type=click.Path(path_type=Path),
              help="Also write a self-contained HTML page with charts.")
@click.pass_context
def report(
    ctx: click.Context,
    since: str | None,
    until: str | None,
    script_id: str | None,
    by: str | None,
    experiment_name: str | None,
    fmt: str | None,
    campaigns_path: Path | None,
    html_path: Path | None,
) -> None:
    """The funnel: started, each question, completed, MQL, SQL, claimed; timings and costs."""
    if ctx.invoked_subcommand is not None:
        return
    if by == "variant":  # experiments: counted per conversation by the lifecycle service
        from bot.cli_experiments import show_status

        _check_choice("--format", fmt, ("table", "json"))
        show_status(experiment_name, fmt or "table")
        return
    _check_choice("--by", by, (*GROUPINGS, "variant"))
    _check_choice("--format", fmt, REPORT_FORMATS)
    filters, window = _period(since, until)
    filters = Filters(filters.since, filters.until, script_id, by)
    window = Window(window.since, window.until, script_id)
    campaigns = None
    if campaigns_path is not None:
        try:
            campaigns = load_campaigns(campaigns_path)
        except CampaignFileError as exc:
            for problem in exc.problems[1:]:
                click.echo(str(problem), err=True)
            fail(str(exc.problems[0]))
    with _session() as session:
        facts = load_lead_facts(session, window)
    questions = order_questions(_script_questions(script_id), questions_seen(facts))
    costs = None
    if campaigns is not None:
        costs = campaign_costs([(f.attribution, is_mql(f), is_sql(f)) for f in facts], campaigns)
    result = build_report(facts, questions=questions, filters=filters, costs=costs)
    if html_path is not None:
        with _output(html_path) as out:
            out.write(render_html(result))
        click.echo(f"wrote {html_path} ({len(facts)} leads)", err=True)
        if fmt is None:
            return
    renderers = {"table": render_text, "csv": render_csv, "json": render_json}
    click.echo(renderers[fmt or "table"](result), nl=False)
    if fmt == "json":
        click.echo()


@report.command("unmatched")
@click.option("--question", "question_id", help="Only this question id.")
@click.option("--limit", type=int, default=20, show_default=True,
              help="At most this many texts per question.")
@click.option("--since", help="First day (YYYY-MM-DD) of the answers.")
@click.option("--until", help="Last day included (YYYY-MM-DD).")
@click.option("--format", "fmt", default="table", help="table, csv or json.")
def report_unmatched(
    question_id: str | None, limit: int, since: str | None, until: str | None, fmt: str
) -> None:
    """Typed answers the bot did not understand, most frequent first, by question."""
    _check_choice("--format", fmt, REPORT_FORMATS)
    if limit < 1:
        fail(f"--limit {limit} must be at least 1")
    filters, _ = _period(since, until)
    with _session() as session:
        texts = load_unmatched_texts(session, since=filters.since, until=filters.until)
    items = count_unmatched(
        texts, question_order=_script_questions(None), only_question=question_id, limit=limit
    )
    if fmt == "json":
        click.echo(json.dumps(
            [{"question": u.question, "text": u.text, "count": u.count, "leads": u.leads,
              "example": u.example} for u in items],
            ensure_ascii=False, indent=2,
        ))
    elif fmt == "csv":
        import csv

        from bot.reports.cells import safe_cell

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("question", "text", "count", "leads", "example"))
        for u in items:
            writer.writerow([safe_cell(v) for v in (u.question, u.text, u.count, u.leads, u.example)])
    elif not items:
        click.echo("No unmatched answers in this period.")
    else:
        rows = [[u.question, u.text, str(u.count), str(u.leads), u.example] for u in items]
        headers = ("question", "text (folded)", "times", "leads", "most typed as")
        click.echo(render_table(headers, rows))


# --- export ----------------------------------------------------------------------


@click.group()
def export() -> None:
    """Export data for other tools (CRMs, spreadsheets)."""


@export.command("leads")
@click.option("--format", "fmt", default="csv", help="csv (default) or jsonl.")
@click.option("--since", help="First day (YYYY-MM-DD) of the leads' first message.")
@click.option("--until", help="Last day included (YYYY-MM-DD).")
@click.option("--output", "output_path", type=click.Path(path_type=Path),
              help="Write to this file instead of stdout.")
def export_leads(fmt: str, since: str | None, until: str | None, output_path: Path | None) -> None:
    """One row per lead: contact, source/campaign/medium, scores, stage, owner, answers."""
    _check_choice("--format", fmt, EXPORT_FORMATS)
    filters, _ = _period(since, until)
    with _session() as session:
        questions = order_questions(_script_questions(None), answered_questions(session))
        records = export_records(
            session, questions=questions, since=filters.since, until=filters.until
        )
        with _output(output_path) as out:
            if fmt == "csv":
                written = write_csv(records, questions, out)
            else:
                written = write_jsonl(records, out)
    if output_path is not None:
        click.echo(f"wrote {written} lead(s) to {output_path}", err=True)

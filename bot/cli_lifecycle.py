"""`leadbot script publish|history|show|diff|rollback|replay|synonym` and `leadbot experiment`.

Thin: each command calls `bot.lifecycle.api.ScriptLifecycle` and renders what it
returns. A refused operation prints one line on stderr (problems of a script, one
per line, before it) and exits 1, having changed nothing.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.lifecycle import render
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.errors import InvalidScript, LifecycleError
from conversations.loader import MAX_SCRIPT_BYTES, UnreadableFile, read_utf8


def fail(message: str) -> NoReturn:
    click.echo(f"leadbot: {message}", err=True)
    sys.exit(1)


def default_author() -> str:
    return os.environ.get("LEADBOT_AUTHOR") or getpass.getuser() or "cli"


author_option = click.option("--author", default=default_author,
                             help="Who makes the change (default: LEADBOT_AUTHOR or your login).")
note_option = click.option("--note", default="", help="Why: shown in the history.")


@contextmanager
def lifecycle() -> Iterator[ScriptLifecycle]:
    """The service on DATABASE_URL (migrated first when LEADBOT_AUTO_MIGRATE); one-line errors."""
    from bot.cli import load_settings
    from storage import migrate
    from storage.database import create_database_engine, create_session_factory

    settings = load_settings()
    engine = create_database_engine(settings.database_url)
    try:
        if settings.leadbot_auto_migrate:
            migrate.upgrade(engine)
        yield ScriptLifecycle(create_session_factory(engine))
    except InvalidScript as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        fail(str(exc))
    except LifecycleError as exc:
        fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        fail(f"cannot use the database ({str(exc.orig).splitlines()[0]}); "
             "check DATABASE_URL and run `leadbot db upgrade`")
    finally:
        engine.dispose()


def read_script(path: Path) -> str:
    try:
        return read_utf8(path, max_bytes=MAX_SCRIPT_BYTES,
                         too_big="the file is over 1 MB; is it a script?")[1]
    except UnreadableFile as exc:
        fail(str(exc.problem))


def echo_json(value: BaseModel | list[BaseModel]) -> None:
    data = [v.model_dump(mode="json") for v in value] if isinstance(value, list) else \
        value.model_dump(mode="json")
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _problems_of(path: Path, exc: InvalidScript) -> NoReturn:
    for problem in exc.problems:
        where = f"{problem.path}: " if problem.path else ""
        click.echo(f"{path}:{problem.line}:{problem.column}  {where}{problem.message}", err=True)
    fail(f"{len(exc.problems)} problem(s) in {path}; nothing was published")


@click.command("publish")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--version", "number", type=int, help="Serve this stored version instead of a file.")
@note_option
@author_option
def script_publish(path: Path | None, number: int | None, note: str, author: str) -> None:
    """Store FILE as a new version and serve it to every process (refused if it has errors)."""
    if (path is None) == (number is None):
        fail("give a script FILE to publish, or --version N to serve a stored version")
    with lifecycle() as service:
        if number is not None:
            deployment = service.rollback(number, author=author, note=note)
            click.echo(f"serving version {deployment.version} (deployment {deployment.id})")
            return
        assert path is not None
        text = read_script(path)
        try:
            result = service.publish(text, author=author, note=note)
        except InvalidScript as exc:
            _problems_of(path, exc)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        version = result.version
        if result.created:
            click.echo(f"published version {version.number} of {version.script_id}; every "
                       "process serves it within LEADBOT_SCRIPT_RELOAD_SECONDS")
        else:
            click.echo(f"same text as version {version.number}; serving it again")


@click.command("history")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def script_history(fmt: str) -> None:
    """Stored versions, newest first; * marks the one served."""
    with lifecycle() as service:
        versions = service.list_versions()
    if fmt == "json":
        echo_json(list(versions))
    else:
        click.echo(render.history(versions))


@click.command("show")
@click.argument("version", type=int)
def script_show(version: int) -> None:
    """Print a stored version's YAML."""
    with lifecycle() as service:
        click.echo(service.get_version(version).yaml_text, nl=False)


@click.command("diff")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
@click.option("--text", "with_text", is_flag=True, help="Also print the line-by-line diff.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def script_diff(v1: int, v2: int, with_text: bool, fmt: str) -> None:
    """What changed between two versions: questions, options, synonyms, points, routing."""
    with lifecycle() as service:
        result = service.diff(v1, v2)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(render.diff(result, with_text=with_text))


@click.command("rollback")
@click.argument("version", type=int, required=False)
@note_option
@author_option
def script_rollback(version: int | None, note: str, author: str) -> None:
    """Serve an older version again (default: the one served before this one)."""
    with lifecycle() as service:
        deployment = service.rollback(version, author=author, note=note)
    click.echo(f"serving version {deployment.version} again (deployment {deployment.id})")


@click.command("replay")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--since", help="Only conversations started on or after this day (YYYY-MM-DD).")
@click.option("--limit", type=int, help="Only the most recent N conversations.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def script_replay(path: Path, since: str | None, limit: int | None, fmt: str) -> None:
    """What FILE would change for stored conversations, compared with the served version."""
    from bot.reports.periods import PeriodError, parse_moment

    try:
        start = parse_moment(since, option="--since", end=False)
    except PeriodError as exc:
        fail(str(exc))
    text = read_script(path)
    with lifecycle() as service:
        try:
            report = service.replay(text, since=start, limit=limit)
        except InvalidScript as exc:
            _problems_of(path, exc)
    if fmt == "json":
        echo_json(report)
    else:
        click.echo(render.replay(report))


@click.group("synonym")
def script_synonym() -> None:
    """Teach the bot new words for an option."""


@script_synonym.command("add")
@click.argument("question")
@click.argument("option")
@click.argument("text")
@click.option("--lang", help="Language of the words (default: the script's first).")
@click.option("--publish", "publish_now", is_flag=True, help="Serve the new version now.")
@note_option
@author_option
def synonym_add(question: str, option: str, text: str, lang: str | None, publish_now: bool,
                note: str, author: str) -> None:
    """Add TEXT to OPTION's synonyms in a new version of the served script."""
    with lifecycle() as service:
        deployment = service.active_deployment()
        if deployment is None:
            fail("no script is published yet; `leadbot script publish FILE` first")
        base = service.get_version(deployment.version)
        added = service.add_synonym(base.yaml_text, question, option, text, lang)
        note = note or f"synonym {text!r} for {question}.{option}"
        if publish_now:
            number = service.publish(added.yaml_text, author=author, note=note).version.number
            done = f"published version {number}"
        else:
            number = service.save_version(added.yaml_text, author=author, note=note).number
            done = (f"stored version {number} (not served: `leadbot script publish "
                    f"--version {number}`)")
    click.echo(f"{done}; it understands {added.covered} stored unmatched answer(s) "
               f"to {question}")


SCRIPT_COMMANDS = (script_publish, script_history, script_show, script_diff, script_rollback,
                   script_replay, script_synonym)

"""The `leadbot` command line: chat, run, serve, worker, script tools, db upgrade.

Expected mistakes (a broken script, a bad setting, a missing token) print one
line on stderr saying what to do, and exit non-zero — never a traceback.
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from bot.cli_experiments import experiment
from bot.cli_lifecycle import SCRIPT_COMMANDS
from bot.cli_reports import export, report
from bot.cli_users import users
from bot.cli_webhooks import webhooks
from bot.settings import DEFAULT_SCRIPT, Settings
from conversations.loader import LoadedScript, ScriptError, load_script

log = logging.getLogger("leadbot")


def fail(message: str, *, code: int = 1) -> NoReturn:
    click.echo(f"leadbot: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "a setting"
        fail(f"{name}: {error['msg'].removeprefix('Value error, ')}; fix the environment variable")


def fail_on_script(exc: ScriptError) -> NoReturn:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    fail(f"{len(exc.problems)} error(s) in the script; fix them and run it again")


def load_or_fail(path: str | Path) -> LoadedScript:
    try:
        return load_script(path)
    except ScriptError as exc:
        fail_on_script(exc)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
def main(verbose: bool) -> None:
    """Leadbot: qualify B2B leads in a chat, alert sales in Slack."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


# --- chat ------------------------------------------------------------------------


def _lines(stream: Any) -> Iterator[str]:
    if stream.isatty():
        while True:
            try:
                yield input("you: ")
            except EOFError:
                return
    else:
        for line in stream:
            click.echo(f"you: {line.rstrip()}")
            yield line.rstrip("\n")


@main.command()
@click.option("--script", "script_path", type=click.Path(path_type=Path), default=None,
              help="Script to run (default: LEADBOT_SCRIPT or the bundled one).")
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None, help="Language to chat in.")
@click.option("--chat-id", default=None, help="Which terminal conversation to continue.")
def chat(script_path: Path | None, lang: str | None, chat_id: str | None) -> None:
    """Talk to the bot in the terminal (reads stdin lines when not a TTY)."""
    from bot.console import ConsoleChat
    from bot.service import ConversationKey, Profile
    from bot.slack.runtime import render_lead_alert_text

    settings = load_settings()
    container = _build_or_fail(settings, script_path)
    user = chat_id or getpass.getuser() or "local"
    console = ConsoleChat(
        service=container.service,
        uow_factory=container.uow,
        key=ConversationKey("console", user),
        profile=Profile(first_name=user.capitalize() if chat_id is None else "",
                        language_code=lang or ""),
        write=click.echo,
        alert_text=None if settings.slack_configured else (
            lambda uow, lead_id: render_lead_alert_text(uow, lead_id, container.script_source.loaded().script)
        ),
    )
    try:
        console.start(lang=lang)
        console.run(_lines(sys.stdin))
    except KeyboardInterrupt:
        click.echo("\n(bye — run `leadbot chat` again to pick up where you left off)")
    finally:
        container.close()


def _build_or_fail(settings: Settings, script_path: Path | None) -> Any:
    from bot.bootstrap import build, freeze_startup_heap
    from bot.integrations.config import load_integrations

    try:
        load_integrations(settings)  # a webhook or CRM setting that cannot work stops us here
    except ValueError as exc:
        fail(str(exc))
    try:
        container = build(settings, script_path=script_path)  # loads the script first
        freeze_startup_heap()
        return container
    except ScriptError as exc:
        fail_on_script(exc)
    except OperationalError as exc:
        fail(f"cannot open the database {settings.database_url!r} ({exc.orig}); check DATABASE_URL")


# --- run, serve, worker ------------------------------------------------------------


def _start_logging(settings: Settings) -> None:
    from bot.logging import configure_logging

    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    configure_logging(level="DEBUG" if verbose else settings.log_level, fmt=settings.log_format)


def _event_loop_runner() -> Any:
    """uvloop's runner where it exists (not on Windows): the same asyncio, with the event
    loop, sockets and transports in C."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _run_process(settings: Settings, main_coroutine: Any) -> None:
    """Run a long-lived command; turn the errors an operator can fix into one line."""
    from telegram.error import InvalidToken, NetworkError

    from bot.runtime import StartupError

    try:
        _event_loop_runner()(main_coroutine)
    except StartupError as exc:
        fail(str(exc))
    except InvalidToken:
        fail("Telegram rejected TELEGRAM_BOT_TOKEN; copy the token again from @BotFather")
    except NetworkError as exc:
        fail(f"cannot reach the Telegram Bot API at {settings.telegram_api_base_url} ({exc}); "
             "check the network or TELEGRAM_API_BASE_URL")
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--script", "script_path", type=click.Path(path_type=Path), default=None,
              help="Script to run (default: LEADBOT_SCRIPT or the bundled one).")
def run(script_path: Path | None) -> None:
    """The workspace on PORT (/studio), Slack endpoints, background jobs and, with
    TELEGRAM_BOT_TOKEN, Telegram long polling: one process."""
    from bot.runtime import run_all
    from bot.studio.first_run import first_admin_lines, workspace_line

    settings = load_settings()
    _start_logging(settings)
    container = _build_or_fail(settings, script_path)
    container.listen_for_deployments()
    if settings.telegram_bot_token is None:
        click.echo("leadbot: Telegram is not connected: create a bot with @BotFather, "
                   "`export TELEGRAM_BOT_TOKEN=…` and run `leadbot run` again "
                   "(or try the bot in the workspace's preview, or with `leadbot chat`)")
    for line in first_admin_lines(container):
        click.echo(line)

    def started(runtime: Any) -> None:
        click.echo(f"leadbot: @{runtime.bot_username} is answering on Telegram")

    try:
        _run_process(settings, run_all(
            container, port=settings.port, started=started,
            web_ready=lambda port: click.echo(workspace_line(port))))
    finally:
        container.close()


@main.command()
@click.option("--script", "script_path", type=click.Path(path_type=Path), default=None,
              help="Script to run (default: LEADBOT_SCRIPT or the bundled one).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--max-connections", type=click.IntRange(1, 100), default=40, show_default=True,
              envvar="TELEGRAM_WEBHOOK_MAX_CONNECTIONS",
              help="Parallel webhook requests Telegram may open (setWebhook max_connections).")
@click.option("--jobs", "with_jobs", is_flag=True,
              help="Also run the worker's background jobs in this process.")
def serve(script_path: Path | None, host: str, max_connections: int, with_jobs: bool) -> None:
    """HTTP app on PORT: Telegram webhook, Slack endpoints, /api/events, /healthz, /metrics."""
    from bot.runtime import ServeOptions, StartupError, check_serve_settings
    from bot.runtime import serve as serve_app

    settings = load_settings()
    try:
        check_serve_settings(settings)  # before the database is touched (or migrated)
    except StartupError as exc:
        fail(str(exc))
    _start_logging(settings)
    container = _build_or_fail(settings, script_path)
    container.listen_for_deployments()
    options = ServeOptions(host=host, with_jobs=with_jobs, max_connections=max_connections)
    from bot.studio.first_run import first_admin_lines

    for line in first_admin_lines(container):
        click.echo(line)

    def ready(port: int) -> None:
        log.info("serving on %s:%s (workspace at /studio/)", host, port)

    try:
        _run_process(settings, serve_app(container, port=settings.port, options=options,
                                         ready=ready))
    finally:
        container.close()


@main.command()
@click.option("--script", "script_path", type=click.Path(path_type=Path), default=None,
              help="Script to run (default: LEADBOT_SCRIPT or the bundled one).")
def worker(script_path: Path | None) -> None:
    """Background jobs: Slack alerts, Telegram replies, reminders; run as many as you like."""
    from bot.runtime import work

    settings = load_settings()
    _start_logging(settings)
    container = _build_or_fail(settings, script_path)
    container.listen_for_deployments()
    try:
        _run_process(settings, work(container))
    finally:
        container.close()


# --- script tools ----------------------------------------------------------------


@main.group()
def script() -> None:
    """Check, test and try question scripts."""


@script.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def script_check(paths: tuple[Path, ...]) -> None:
    """Validate scripts and run their examples; non-zero exit on any error."""
    from conversations.simulation import check_example

    errors = 0
    for path in paths:
        try:
            loaded = load_script(path)
        except ScriptError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            errors += len(exc.problems)
            continue
        failed = 0
        for index, example in enumerate(loaded.script.examples):
            for failure in check_example(loaded.script, example):
                name = example.name or f"examples[{index}]"
                line = loaded.example_lines[index] if index < len(loaded.example_lines) else 1
                click.echo(f"{path}:{line}: example {name!r}: {failure}", err=True)
                failed += 1
        errors += failed
        examples = len(loaded.script.examples)
        status = "ok" if not failed else f"{failed} failing expectation(s)"
        click.echo(
            f"{path}: {status} — {len(loaded.script.questions)} questions, "
            f"{examples} example(s), version {loaded.version}"
        )
    if errors:
        fail(f"{errors} error(s); fix them and run `leadbot script check` again")


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _as_of(day: datetime | None) -> datetime:
    """The time answers are read as sent: noon UTC of `day`, or now."""
    if day is None:
        return datetime.now(UTC)
    return day.replace(hour=12, tzinfo=UTC)


@script.command("match")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--jsonl", is_flag=True, required=True,
              help='Read {"question": id, "text": ...} lines on stdin, write one result per line.')
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None)
@click.option("--date", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help='Read dates in answers ("Q3", "fin janvier") as sent that day (default: today).')
def script_match(path: Path, jsonl: bool, lang: str | None, as_of: datetime | None) -> None:
    """Map typed answers to options, as the bot would."""
    from conversations.understanding import understand

    loaded = load_or_fail(path)
    now = _as_of(as_of)
    language = lang or loaded.script.lang
    ids = set(loaded.script.question_ids())
    out: dict[str, object]
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            question_id, text = item["question"], item["text"]
            if not isinstance(question_id, str) or not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            out = {"line": number, "question": None, "text": None, "option": None, "value": None,
                   "confidence": 0.0, "error": 'expected {"question": "<id>", "text": "<answer>"}'}
            click.echo(json.dumps(out, ensure_ascii=False))
            continue
        if question_id not in ids:
            out = {"question": question_id, "text": text, "option": None, "value": None,
                   "confidence": 0.0, "error": f"no question {question_id!r} in the script"}
            click.echo(json.dumps(out, ensure_ascii=False))
            continue
        understood = understand(loaded.script.question(question_id), text, lang=language, now=now)
        out = {"question": question_id, "text": text, "option": understood.option_id,
               "value": _json_number(understood.value),
               "confidence": round(understood.confidence, 3), "accepted": understood.accepted,
               "did_you_mean": list(understood.suggestions)}
        click.echo(json.dumps(out, ensure_ascii=False))
        sys.stdout.flush()


@script.command("simulate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--answers", "answers_json", required=True,
              help='JSON object: {"question id": "typed answer", ...}')
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None)
@click.option("--date", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help='Read dates in answers ("Q3", "fin janvier") as sent that day (default: today).')
def script_simulate(path: Path, answers_json: str, lang: str | None,
                    as_of: datetime | None) -> None:
    """Run one answer set through the script and print the outcome as JSON."""
    from conversations.simulation import simulate

    loaded = load_or_fail(path)
    try:
        answers = json.loads(answers_json)
    except json.JSONDecodeError as exc:
        fail(f"--answers is not valid JSON ({exc.msg} at char {exc.pos})")
    if not isinstance(answers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in answers.items()
    ):
        fail('--answers must be an object of strings: {"question id": "typed answer"}')
    unknown = sorted(set(answers) - set(loaded.script.question_ids()))
    if unknown:
        fail(f"no question {', '.join(map(repr, unknown))} in {path}; "
             f"the questions are {', '.join(loaded.script.question_ids())}")
    result = simulate(loaded.script, answers, lang=lang, now=_as_of(as_of))
    click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2, default=_json_number))


# --- database ------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from storage import migrate
    from storage.database import create_database_engine

    settings = load_settings()
    engine = create_database_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        click.echo(f"database is at revision {migrate.current_revision(engine)}")
    except OperationalError as exc:
        fail(f"cannot reach the database ({exc.orig}); check DATABASE_URL")
    finally:
        engine.dispose()


main.add_command(report)
main.add_command(export)
main.add_command(experiment)
for _command in SCRIPT_COMMANDS:
    script.add_command(_command)
main.add_command(users)
main.add_command(webhooks)

__all__ = ["DEFAULT_SCRIPT", "main"]


if __name__ == "__main__":
    main()

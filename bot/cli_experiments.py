"""`leadbot experiment start|status|stop` and `leadbot report --by variant`.

Thin faces of `bot.lifecycle.api.ScriptLifecycle`, like `bot.cli_lifecycle`.
"""

from __future__ import annotations

import click

from bot.cli_lifecycle import author_option, echo_json, fail, lifecycle, note_option
from bot.lifecycle import render
from bot.lifecycle.errors import LifecycleError
from bot.lifecycle.experiments import parse_variant


@click.group()
def experiment() -> None:
    """A/B test script versions on new conversations."""


@experiment.command("start")
@click.argument("name")
@click.option("--variant", "variants", multiple=True, required=True,
              help="NAME=VERSION:WEIGHT, e.g. a=3:50 (weights add up to 100).")
@note_option
@author_option
def experiment_start(name: str, variants: tuple[str, ...], note: str, author: str) -> None:
    """Split new conversations between versions; running ones keep theirs."""
    try:
        specs = [parse_variant(text) for text in variants]
    except LifecycleError as exc:
        fail(str(exc))
    with lifecycle() as service:
        deployment = service.start_experiment(name, specs, author=author, note=note)
    shares = ", ".join(f"{v.name}=v{v.version} {v.weight} %" for v in deployment.variants)
    click.echo(f"experiment {name} started: {shares}")


def show_status(name: str | None, fmt: str) -> None:
    with lifecycle() as service:
        status = service.experiment_status(name)
    if status is None:
        fail("no experiment yet: `leadbot experiment start NAME --variant a=V:50 "
             "--variant b=V:50`")
    if fmt == "json":
        echo_json(status)
    else:
        click.echo(render.experiment(status))


@experiment.command("status")
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def experiment_status(name: str | None, fmt: str) -> None:
    """Per variant: started, completed, MQL, SQL, conversion and its 95 % interval."""
    show_status(name, fmt)


@experiment.command("stop")
@click.argument("name")
@click.option("--keep", required=True, help="The variant everyone gets from now on.")
@note_option
@author_option
def experiment_stop(name: str, keep: str, note: str, author: str) -> None:
    """End the experiment and serve the kept variant's version to everyone."""
    with lifecycle() as service:
        deployment = service.stop_experiment(name, keep, author=author, note=note)
    click.echo(f"experiment {name} stopped; everyone gets version {deployment.version}")

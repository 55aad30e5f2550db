"""The mistakes a lifecycle operation refuses, each with one line saying what to do."""

from __future__ import annotations

from collections.abc import Sequence

from bot.lifecycle.models import Problem


class LifecycleError(Exception):
    """An operation refused; `str(error)` is one line a person can act on. Nothing changed."""


class UnknownVersion(LifecycleError):
    def __init__(self, number: int) -> None:
        super().__init__(f"no script version {number}; `leadbot script history` lists them")
        self.number = number


class InvalidScript(LifecycleError):
    """The text is not a usable script (or its examples fail); `problems` lists why, by line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"the script has {len(self.problems)} problem(s); fix them and try again"
        )


class BadExperiment(LifecycleError):
    """An experiment that cannot be started or stopped as asked."""

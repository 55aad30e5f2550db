"""Plain-text renderings of the lifecycle's values for the terminal (the CLI's only job)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.lifecycle.models import (
    ExperimentStatus,
    Outcome,
    ReplayReport,
    ScriptDiff,
    VersionSummary,
)
from bot.reports.stats import human_duration
from bot.reports.table import render_table


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "—"


def history(versions: Sequence[VersionSummary]) -> str:
    if not versions:
        return "No script version yet: `leadbot script publish FILE` stores the first."
    rows = [[f"{'*' if v.active else ' '} v{v.number}", v.script_id, when(v.created_at),
             when(v.published_at), v.author, v.note[:60]] for v in versions]
    return render_table(("version", "script", "created", "first served", "author", "note"),
                        rows) + "\n* served now"


def diff(result: ScriptDiff, *, with_text: bool = False) -> str:
    lines = [f"{result.before} → {result.after}: {len(result.changes)} change(s)"]
    lines += [f"  {change}" for change in result.changes]
    lines += [f"warning: {warning}" for warning in result.warnings]
    if with_text and result.text_diff:
        lines += ["", result.text_diff.rstrip("\n")]
    return "\n".join(lines)


def _outcome(outcome: Outcome) -> str:
    route = f" → {outcome.route}" if outcome.route else ""
    return f"{outcome.stage} {outcome.temperature} {outcome.score}{route}"


def replay(report: ReplayReport, *, rows: int = 50) -> str:
    totals = report.totals
    against = f"v{report.active_version}" if report.active_version else "itself"
    rate = totals.conversations / report.seconds if report.seconds > 0 else 0.0
    out = [f"Replayed {totals.conversations} conversation(s) against {against} in "
           f"{report.seconds:.2f} s ({rate:,.0f}/s); nothing was written or sent."]
    changed = [c for c in report.conversations if c.changed]
    if changed:
        table = [[str(c.lead_id), str(c.conversation_id), _outcome(c.old), _outcome(c.new)]
                 for c in changed[:rows]]
        out += ["", render_table(("lead", "conversation", "now", "with the candidate"), table)]
        if len(changed) > rows:
            out.append(f"… and {len(changed) - rows} more (--format json lists them all)")
    out += [
        "",
        f"changed outcome       {totals.changed}",
        f"moved up a stage      {totals.moved_up}",
        f"moved down a stage    {totals.moved_down}",
        f"new Slack alerts      {totals.alerts_gained}",
        f"alerts no longer sent {totals.alerts_lost}",
        f"alerts rerouted       {totals.routes_changed}",
        f"answers now understood     {totals.newly_understood}",
        f"answers no longer understood {totals.newly_unmatched}",
    ]
    for label, counts in (("now asked", totals.questions_added),
                          ("no longer asked", totals.questions_skipped)):
        for question, count in sorted(counts.items()):
            out.append(f"question {question} {label}: {count} conversation(s)")
    return "\n".join(out)


def _percent(value: float | None) -> str:
    return f"{value * 100:.1f} %" if value is not None else "—"


def experiment(status: ExperimentStatus) -> str:
    state = "running" if status.running else (
        f"stopped {when(status.stopped_at)}, kept {status.kept}" if status.stopped_at
        else "not running")
    rows = []
    for v in status.variants:
        interval = (f"{_percent(v.ci_low)}–{_percent(v.ci_high)}"
                    if v.ci_low is not None and v.ci_high is not None else "—")
        significant = ("—" if v.significant is None else
                       f"{'yes' if v.significant else 'no'} (p={v.p_value:.3f})")
        rows.append([f"{v.variant} (v{v.version}, {v.weight} %)", str(v.started),
                     str(v.completed), str(v.mql), str(v.sql), _percent(v.conversion), interval,
                     significant, human_duration(v.median_seconds_to_sql)])
    headers = ("variant", "started", "completed", "MQL", "SQL", "to SQL", "95 % interval",
               "differs from first", "median to SQL")
    title = (f"Experiment {status.name}: {state}; started {when(status.started_at)} "
             f"by {status.started_by}")
    return render_table(headers, rows, title=title)

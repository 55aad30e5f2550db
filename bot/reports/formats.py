"""The funnel report as a terminal table, CSV or JSON.

CSV and JSON are for machines, so their names are stable (the README lists
them). CSV is "tidy": one figure per row, columns
`group,step,question,metric,value,unit`, ready for a pivot table.
Durations are seconds, rates are fractions (0.25, not 25 %).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.reports.cells import safe_cell
from bot.reports.costs import CampaignCost
from bot.reports.funnel import GroupReport, Report, Timing
from bot.reports.stats import human_duration
from bot.reports.table import money, percent, render_table

CSV_COLUMNS = ("group", "step", "question", "metric", "value", "unit")


# --- JSON ------------------------------------------------------------------------


def report_as_dict(report: Report) -> dict[str, Any]:
    filters = report.filters
    return {
        "filters": {
            "since": _iso(filters.since),
            "until": _iso(filters.until),
            "script": filters.script,
            "by": filters.by,
        },
        "questions": list(report.questions),
        "groups": [_group_dict(g) for g in report.groups],
        "sources": [{"source": s, "leads": n} for s, n in report.sources],
        "costs": None if report.costs is None else [_cost_dict(c) for c in report.costs],
    }


def _group_dict(group: GroupReport) -> dict[str, Any]:
    return {
        "group": group.group,
        "leads": group.leads,
        "funnel": [
            {"step": s.name, "question": s.question, "count": s.count,
             "conversion": _rate(s.conversion), "of_started": _rate(s.of_started)}
            for s in group.steps
        ],
        "drop_off": [
            {"question": d.question, "reached": d.reached, "answered": d.answered,
             "dropped": d.dropped, "rate": _rate(d.rate)}
            for d in group.drop_off
        ],
        "time_to_mql": _timing_dict(group.to_mql),
        "time_to_sql": _timing_dict(group.to_sql),
    }


def _timing_dict(timing: Timing) -> dict[str, Any]:
    return {"count": timing.count, "median_seconds": _seconds(timing.median_seconds),
            "p90_seconds": _seconds(timing.p90_seconds)}


def _cost_dict(cost: CampaignCost) -> dict[str, Any]:
    return {"campaign": cost.campaign, "id": cost.id, "source": cost.source,
            "currency": cost.currency, "spend": cost.spend, "leads": cost.leads,
            "mql": cost.mql, "sql": cost.sql, "cost_per_lead": cost.cost_per_lead,
            "cost_per_mql": cost.cost_per_mql, "cost_per_sql": cost.cost_per_sql}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def render_json(report: Report) -> str:
    return json.dumps(report_as_dict(report), ensure_ascii=False, indent=2)


# --- CSV -------------------------------------------------------------------------


def csv_rows(report: Report) -> Iterator[tuple[str, str, str, str, Any, str]]:
    for group in report.groups:
        name = group.group
        for step in group.steps:
            question = step.question or ""
            yield name, step.name, question, "count", step.count, ""
            yield name, step.name, question, "conversion", _rate(step.conversion), "ratio"
            yield name, step.name, question, "of_started", _rate(step.of_started), "ratio"
        for drop in group.drop_off:
            yield name, "drop_off", drop.question, "reached", drop.reached, ""
            yield name, "drop_off", drop.question, "dropped", drop.dropped, ""
            yield name, "drop_off", drop.question, "rate", _rate(drop.rate), "ratio"
        for step_name, timing in (("time_to_mql", group.to_mql), ("time_to_sql", group.to_sql)):
            yield name, step_name, "", "count", timing.count, ""
            yield name, step_name, "", "median", _seconds(timing.median_seconds), "seconds"
            yield name, step_name, "", "p90", _seconds(timing.p90_seconds), "seconds"
    for cost in report.costs or ():
        for metric in ("leads", "mql", "sql"):
            yield cost.campaign, "cost", "", metric, getattr(cost, metric), ""
        for metric in ("spend", "cost_per_lead", "cost_per_mql", "cost_per_sql"):
            yield cost.campaign, "cost", "", metric, getattr(cost, metric), cost.currency


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


# --- terminal table --------------------------------------------------------------


def render_text(report: Report) -> str:
    groups = report.groups
    headers = ["", *(_header(g) for g in groups)]
    funnel_rows = [
        [step.label, *(_count_cell(g, i) for g in groups)]
        for i, step in enumerate(groups[0].steps)
    ]
    drop_rows = [
        [drop.question, *(_drop_cell(g, i) for g in groups)]
        for i, drop in enumerate(groups[0].drop_off)
    ]
    timing_rows = [
        ["to MQL (leads)", *(str(g.to_mql.count) for g in groups)],
        ["to MQL median", *(human_duration(g.to_mql.median_seconds) for g in groups)],
        ["to MQL p90", *(human_duration(g.to_mql.p90_seconds) for g in groups)],
        ["to SQL (leads)", *(str(g.to_sql.count) for g in groups)],
        ["to SQL median", *(human_duration(g.to_sql.median_seconds) for g in groups)],
        ["to SQL p90", *(human_duration(g.to_sql.p90_seconds) for g in groups)],
    ]
    parts = [
        describe_filters(report),
        render_table(headers, funnel_rows,
                     title="Funnel (count, conversion of the leads that could reach the step)"),
        render_table(headers, drop_rows, title="Drop-off by question (left without answering)"),
        render_table(headers, timing_rows, title="Time from first message"),
    ]
    if report.costs is not None:
        parts.append(_costs_table(report.costs))
    return "\n\n".join(parts) + "\n"


def describe_filters(report: Report) -> str:
    f = report.filters
    since = _when(f.since) if f.since else "the beginning"
    until = f"to before {_when(f.until)}" if f.until else "to now"
    bits = [f"Leads whose first message is from {since} {until}"]
    if f.script:
        bits.append(f"script {f.script}")
    if f.by:
        bits.append(f"by {f.by}")
    return ", ".join(bits)


def _when(moment: datetime) -> str:
    if moment.hour == moment.minute == moment.second == 0:
        return moment.date().isoformat()
    return moment.isoformat(timespec="minutes")


def _header(group: GroupReport) -> str:
    return group.group if len(group.group) <= 24 else group.group[:23] + "…"


def _count_cell(group: GroupReport, index: int) -> str:
    step = group.steps[index]
    if step.conversion is None:
        return str(step.count)
    return f"{step.count} {percent(step.conversion):>6}"


def _drop_cell(group: GroupReport, index: int) -> str:
    drop = group.drop_off[index]
    return f"{drop.dropped}/{drop.reached} {percent(drop.rate):>6}"


def _costs_table(costs: tuple[CampaignCost, ...]) -> str:
    headers = ["campaign", "spend", "leads", "MQL", "SQL", "per lead", "per MQL", "per SQL"]
    rows = [
        [c.campaign, money(c.spend, c.currency), str(c.leads), str(c.mql), str(c.sql),
         money(c.cost_per_lead, c.currency), money(c.cost_per_mql, c.currency),
         money(c.cost_per_sql, c.currency)]
        for c in costs
    ]
    return render_table(headers, rows, title="Cost by campaign (whole spend vs. leads shown)")

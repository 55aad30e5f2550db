"""The funnel report as one self-contained HTML page: inline CSS and SVG, no script, no URL.

A Content-Security-Policy of `default-src 'none'` makes the "nothing fetched"
promise checkable: a browser would refuse any external resource we slipped in.
All user-controlled text (sources, campaigns, question ids, group names) is escaped.
"""

from __future__ import annotations

from html import escape

from bot.reports.formats import describe_filters
from bot.reports.funnel import GroupReport, Report
from bot.reports.stats import human_duration
from bot.reports.svg import Bar, bar_chart, histogram
from bot.reports.table import money, percent

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:980px;padding:0 1rem;color:#111827;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
.sub{color:#6b7280;margin:0 0 1.5rem}
.kpis{display:flex;flex-wrap:wrap;gap:.75rem}
.kpi{border:1px solid #e5e7eb;border-radius:8px;padding:.6rem .9rem;min-width:110px}
.kpi b{display:block;font-size:1.35rem}.kpi span{color:#6b7280;font-size:.8rem}
svg.chart{max-width:100%;height:auto;font-size:12px;fill:#374151}
svg .axis{stroke:#9ca3af}svg .tick{fill:#6b7280;font-size:11px}svg .empty{fill:#6b7280}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f9fafb}
"""


def render_html(report: Report, *, extra_sections: tuple[str, ...] = ()) -> str:
    """`extra_sections`: HTML built elsewhere (e.g. speed to lead), appended as given."""
    total = report.groups[0]
    sections = [
        _kpis(total),
        "<h2>Funnel</h2>",
        bar_chart("funnel", "Funnel: leads at each step", [
            Bar(s.label, s.count, f"{s.count} · {percent(s.of_started)}") for s in total.steps
        ]),
        "<h2>Drop-off by question</h2>",
        bar_chart("drop-off", "Share of leads who left at each question", [
            Bar(d.question, d.rate or 0.0, f"{percent(d.rate)} ({d.dropped}/{d.reached})")
            for d in total.drop_off
        ], colour_index=3),
        "<h2>Time from first message to SQL</h2>",
        histogram("time-to-sql", "Time to SQL (histogram)", total.to_sql.seconds),
        (
            f'<p class="sub">median {escape(human_duration(total.to_sql.median_seconds))}, '
            f"p90 {escape(human_duration(total.to_sql.p90_seconds))}, "
            f"{total.to_sql.count} lead(s)</p>"
        ),
        "<h2>Leads by source</h2>",
        bar_chart("sources", "Leads by source", [
            Bar(source, n, str(n)) for source, n in report.sources
        ], colour_index=1),
    ]
    if len(report.groups) > 1:
        sections += [f"<h2>By {escape(report.filters.by or '')}</h2>", _groups_table(report)]
    if report.costs is not None:
        sections += ["<h2>Cost by campaign</h2>", _costs_table(report)]
    sections += extra_sections
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" "
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Leadbot funnel report</title>"
        f"<style>{CSS}</style></head><body>"
        "<h1>Leadbot funnel report</h1>"
        f'<p class="sub">{escape(describe_filters(report))}</p>'
        + "\n".join(sections)
        + "</body></html>\n"
    )


def _kpis(total: GroupReport) -> str:
    figures = [
        ("started", str(total.count("started"))),
        ("completed", str(total.count("completed"))),
        ("MQL", str(total.count("mql"))),
        ("SQL", str(total.count("sql"))),
        ("claimed", str(total.count("claimed"))),
        ("median to SQL", human_duration(total.to_sql.median_seconds)),
    ]
    cells = "".join(
        f'<div class="kpi"><b>{escape(value)}</b><span>{escape(name)}</span></div>'
        for name, value in figures
    )
    return f'<div class="kpis">{cells}</div>'


def _groups_table(report: Report) -> str:
    head = "".join(f"<th>{escape(g.group)}</th>" for g in report.groups)
    rows = []
    for index, step in enumerate(report.groups[0].steps):
        cells = "".join(
            f"<td>{g.steps[index].count} <small>{percent(g.steps[index].conversion)}</small></td>"
            for g in report.groups
        )
        rows.append(f"<tr><td>{escape(step.label)}</td>{cells}</tr>")
    return f"<table><tr><th>step</th>{head}</tr>{''.join(rows)}</table>"


def _costs_table(report: Report) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("campaign", "spend", "leads", "MQL", "SQL", "per lead", "per MQL", "per SQL")
    )
    rows = []
    for c in report.costs or ():
        figures = (money(c.spend, c.currency), c.leads, c.mql, c.sql,
                   money(c.cost_per_lead, c.currency), money(c.cost_per_mql, c.currency),
                   money(c.cost_per_sql, c.currency))
        cells = "".join(f"<td>{escape(str(v))}</td>" for v in figures)
        rows.append(f"<tr><td>{escape(c.campaign)}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"

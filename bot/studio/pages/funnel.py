"""The funnel dashboard: `leadbot report` in the browser, with date filters, SVG charts and CSV.

Breakdowns by source, campaign, language and (an A/B experiment's) variant, and speed
to lead (SQL → claim by rule, rep and source), as `leadbot report` computes them.

Figures come from `bot.reports` (the same report as the command); the page only lays
them out. Cost per SQL shows when LEADBOT_CAMPAIGNS names a campaign spend file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import Response

from bot.reports.assemble import funnel_report
from bot.reports.campaigns import CampaignFileError, CampaignSpend, load_campaigns
from bot.reports.formats import describe_filters, render_csv
from bot.reports.funnel import GROUPINGS, Filters, Report
from bot.reports.periods import PeriodError, parse_moment
from bot.reports.stats import human_duration
from bot.reports.speed import GROUPINGS as SPEED_GROUPINGS
from bot.reports.speed import HEADERS as SPEED_HEADERS
from bot.reports.svg import Bar, bar_chart, histogram
from bot.reports.table import money, percent
from bot.studio.funnel_sections import VARIANT, speed_section, variant_section
from bot.studio.web import Page, get


def _filters(page: Page) -> tuple[Filters, str]:
    q = page.query
    by = q.get("by") if q.get("by") in GROUPINGS else None
    try:
        since = parse_moment(q.get("since") or None, option="From", end=False)
        until = parse_moment(q.get("until") or None, option="To", end=True)
    except PeriodError as exc:
        return Filters(None, None, None, by), str(exc)
    if since is not None and until is not None and until <= since:
        return Filters(None, None, None, by), "“To” is before “From”; swap them?"
    return Filters(since, until, None, by), ""


def _campaigns(page: Page) -> tuple[list[CampaignSpend] | None, str]:
    path = page.studio.container.settings.leadbot_campaigns
    if path is None:
        return None, ""
    try:
        return list(load_campaigns(path)), ""
    except CampaignFileError as exc:
        return None, f"LEADBOT_CAMPAIGNS: {exc.problems[0]}"


def _report(page: Page) -> tuple[Report, str, str]:
    filters, error = _filters(page)
    report, campaign_error = _report_for(page, filters)
    return report, error, campaign_error


def _report_for(page: Page, filters: Filters) -> tuple[Report, str]:
    campaigns, campaign_error = _campaigns(page)
    script = page.studio.container.script.script
    with page.studio.uow() as uow:
        report = funnel_report(uow.session, filters=filters,
                               script_questions=script.question_ids(), campaigns=campaigns)
    return report, campaign_error


def _charts(report: Report) -> dict[str, str]:
    """SVG strings; `bot.reports.svg` escapes every label (sources come from payloads)."""
    total = report.groups[0]
    return {
        "funnel": bar_chart("funnel", "Funnel: leads at each step", [
            Bar(s.label, s.count, f"{s.count} · {percent(s.of_started)}") for s in total.steps]),
        "drop_off": bar_chart("drop-off", "Share of leads who left at each question", [
            Bar(d.question, d.rate or 0.0, f"{percent(d.rate)} ({d.dropped}/{d.reached})")
            for d in total.drop_off], colour_index=3),
        "to_sql": histogram("time-to-sql", "Time from first message to SQL", total.to_sql.seconds),
        "to_mql": histogram("time-to-mql", "Time from first message to MQL", total.to_mql.seconds),
        "sources": bar_chart("sources", "Leads by source", [
            Bar(source, n, str(n)) for source, n in report.sources], colour_index=1),
    }


def _presets(page: Page) -> list[dict[str, Any]]:
    today = page.studio.now().date()
    by = page.query.get("by", "")
    return [
        {"label": "Last 7 days", "since": (today - timedelta(days=6)).isoformat(),
         "until": today.isoformat(), "by": by},
        {"label": "Last 30 days", "since": (today - timedelta(days=29)).isoformat(),
         "until": today.isoformat(), "by": by},
        {"label": "All time", "since": "", "until": "", "by": by},
    ]


def funnel_page(page: Page) -> Response:
    filters, error = _filters(page)
    report, campaign_error = _report_for(page, filters)
    speed = speed_section(page, filters)
    total = report.groups[0]
    kpis = [
        ("started", str(total.count("started"))), ("completed", str(total.count("completed"))),
        ("MQL", str(total.count("mql"))), ("SQL", str(total.count("sql"))),
        ("claimed by sales", str(total.count("claimed"))),
        ("median time to SQL", human_duration(total.to_sql.median_seconds)),
        ("median SQL to claim", human_duration(speed.total.median_seconds)),
        ("claimed within SLA", percent(speed.total.within_sla)),
    ]
    costs = [
        {"campaign": c.campaign, "spend": money(c.spend, c.currency), "leads": c.leads,
         "mql": c.mql, "sql": c.sql, "per_lead": money(c.cost_per_lead, c.currency),
         "per_mql": money(c.cost_per_mql, c.currency),
         "per_sql": money(c.cost_per_sql, c.currency)}
        for c in report.costs or ()]
    return page.render(
        "funnel.html", report=report, total=total, kpis=kpis, charts=_charts(report),
        description=describe_filters(report), error=error, campaign_error=campaign_error,
        costs=costs if report.costs is not None else None, groupings=(*GROUPINGS, VARIANT),
        variants=variant_section(page) if page.query.get("by") == VARIANT else None,
        speed=speed, speed_groupings=SPEED_GROUPINGS, speed_headers=SPEED_HEADERS[1:],
        form=page.query, presets=_presets(page), percent=percent, duration=human_duration,
        csv_query=str(page.request.url.query))


def funnel_csv(page: Page) -> Response:
    """The report's tidy CSV (`leadbot report --format csv`'s columns)."""
    report, _, _ = _report(page)
    return Response(render_csv(report), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="funnel.csv"'})


ROUTES = [get("/funnel", funnel_page), get("/funnel.csv", funnel_csv)]

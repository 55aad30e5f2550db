"""The Funnel page's breakdown by A/B variant and its speed to lead, over HTTP, on prospects
talked through the real service: the figures shown are `leadbot report`'s own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.bootstrap import Container, build
from bot.cli_reports import report
from bot.lifecycle.models import VariantSpec
from bot.reports.stats import human_duration
from bot.reports.table import percent
from bot.settings import Settings
from bot.slack.lead_actions import claim_lead
from storage.models import Lead
from tests.lifecycle_helpers import DEFAULT_TEXT, variant_of
from tests.studio_seed import seed_prospects
from tests.studio_support import Clock, client, make_user, signed_in, studio_app, studio_container

# Version 2 asks for more before SQL, so the variants' funnels differ.
STRICT = variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}", "thresholds: {mql: 40, sql: 108}"
                    ).replace("expect: {stage: sql", "expect: {stage: mql")
CLAIM_AFTER = {"101": timedelta(minutes=5), "102": timedelta(hours=2)}  # 106 stays unclaimed


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    clock = Clock()
    built = build(Settings(database_url=database_url, leadbot_script_reload_seconds=0), clock=clock)
    try:
        make_user(built, "viewer@example.com", "viewer")
        built.lifecycle.save_version(STRICT, author="ada")
        built.lifecycle.start_experiment("spring", [VariantSpec(name="a", version=1, weight=50),
                                                    VariantSpec(name="b", version=2, weight=50)],
                                         author="ada")
        seed_prospects(built, clock)
        with built.uow() as uow:
            leads = {lead.chat_id: lead for lead in uow.session.scalars(select(Lead))}
            for chat, after in CLAIM_AFTER.items():
                lead = leads[chat]
                assert lead.qualified_at is not None, chat
                claim_lead(uow, lead_id=lead.id, user_id="U0SAM0001", user_name="sam",
                           now=lead.qualified_at + after)
            uow.commit()
        yield built
    finally:
        built.close()


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start:html.index("</section>", start)]


def _rows(html: str) -> list[list[str]]:
    """Each body row's cells as text (tags dropped, whitespace folded)."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            rows.append(cells)
    return rows


def _cli_json(database_url: str, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(report, [*args, "--format", "json"],
                                env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    loaded: dict[str, object] = json.loads(result.output)
    return loaded


async def test_by_variant_shows_the_experiments_figures(container: Container, database_url: str) -> None:
    async with client(studio_app(container)) as http:
        await signed_in(http, "viewer@example.com")
        page = (await http.get("/studio/funnel?by=variant")).text
        named = (await http.get("/studio/funnel?by=variant&experiment=spring")).text
        unknown = (await http.get("/studio/funnel?by=variant&experiment=nope")).text
        plain = (await http.get("/studio/funnel")).text
    expected = _cli_json(database_url, "--by", "variant")
    shown = {row[0]: row for row in _rows(_section(page, "by-variant"))}
    variants = expected["variants"]
    assert isinstance(variants, list) and [v["variant"] for v in variants] == ["a", "b"]
    assert sum(v["started"] for v in variants) == 6  # every seeded prospect is in one variant
    for v in variants:
        row = shown[v["variant"]]
        assert row[1:7] == [str(v["version"]), f"{v['weight']} %", str(v["started"]),
                            str(v["completed"]), str(v["mql"]), str(v["sql"])], row
    assert '<option value="variant" selected>' in page and "Experiment <strong>spring</strong>" in page
    assert _rows(_section(named, "by-variant")) == _rows(_section(page, "by-variant"))
    assert "no experiment named &#39;nope&#39;" in unknown
    assert 'id="by-variant"' not in plain


async def test_by_variant_without_an_experiment_says_how_to_start_one(database_url: str) -> None:
    with studio_container(database_url) as container:
        make_user(container, "viewer@example.com", "viewer")
        async with client(studio_app(container)) as http:
            await signed_in(http, "viewer@example.com")
            page = (await http.get("/studio/funnel?by=variant")).text
    assert "No A/B experiment yet" in _section(page, "by-variant")


async def test_speed_to_lead_matches_the_report(container: Container, database_url: str) -> None:
    async with client(studio_app(container)) as http:
        await signed_in(http, "viewer@example.com")
        page = (await http.get("/studio/funnel")).text
        october = (await http.get("/studio/funnel?since=2026-10-01&until=2026-10-31")).text
    speed = _cli_json(database_url)["speed_to_lead"]
    assert isinstance(speed, dict)
    total = speed["all"]
    assert (total["sql"], total["claimed"]) == (3, 2)
    assert total["median_seconds_to_claim"] == (5 * 60 + 2 * 3600) / 2
    shown = {row[0]: row[1:] for row in _rows(_section(page, "speed-to-lead"))}

    def cells(row: dict[str, object]) -> list[str]:
        median, p90, within = (row["median_seconds_to_claim"], row["p90_seconds_to_claim"],
                               row["within_sla"])
        assert median is None or isinstance(median, float | int)
        assert p90 is None or isinstance(p90, float | int)
        assert within is None or isinstance(within, float | int)
        return [str(row["sql"]), str(row["claimed"]), human_duration(median), human_duration(p90),
                percent(within)]

    assert shown["all"] == cells(total)
    for name in ("rule", "rep", "source"):
        for row in speed[f"by_{name}"]:
            assert shown[f"{name}: {row['group']}"] == cells(row)
    assert f'data-kpi="median SQL to claim"><b>{human_duration(total["median_seconds_to_claim"])}</b>' in page
    assert "rep: sam" in shown and "rep: (unclaimed)" in shown
    # October: only Ken (106) reached SQL then, and nobody claimed him.
    assert _rows(_section(october, "speed-to-lead"))[0][:3] == ["all", "1", "0"]

"""Workspace pages over HTTP: the funnel's figures and CSV, the leads list, a lead's file, and
what each role sees; a prospect's HTML is always shown as text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from markupsafe import escape  # the templates' own escaping

from bot.bootstrap import Container
from bot.studio.roles import ROLES, Role
from tests.studio_seed import EVIL_ANSWER, EVIL_COMPANY, EVIL_NAME, seed_prospects
from tests.studio_support import Clock, client, make_user, signed_in, studio_app, studio_container


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    clock = Clock()
    with studio_container(database_url, clock) as built:
        for role in ROLES:
            make_user(built, f"{role}@example.com", role)
        seed_prospects(built, clock)
        yield built


@pytest.fixture
def as_role(container: Container) -> object:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def signed(role: Role) -> AsyncIterator[httpx.AsyncClient]:
        async with client(studio_app(container)) as http:
            await signed_in(http, f"{role}@example.com")
            yield http

    return signed


def _lead_id(container: Container, chat_id: str) -> int:
    from sqlalchemy import select

    from storage.models import Lead

    with container.uow() as uow:
        return int(uow.session.scalars(select(Lead.id).where(Lead.chat_id == chat_id)).one())


async def test_funnel_figures_follow_the_date_filter(as_role: object) -> None:
    async with as_role("viewer") as http:  # type: ignore[operator]
        everything = (await http.get("/studio/funnel")).text
        november = (await http.get("/studio/funnel?since=2026-11-01&until=2026-11-30&by=source"))
        bad = await http.get("/studio/funnel?since=yesterday")
        csv_text = (await http.get("/studio/funnel.csv?since=2026-11-01")).text
    assert '<div class="stat" data-kpi="started"><b>6</b>' in everything
    assert '<div class="stat" data-kpi="SQL"><b>3</b>' in everything
    assert '<div class="stat" data-kpi="started"><b>4</b>' in november.text
    assert '<div class="stat" data-kpi="SQL"><b>2</b>' in november.text
    assert "<h2>By source</h2>" in november.text
    assert bad.status_code == 200 and "is not a date" in bad.text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    started = [r for r in rows if r["group"] == "all" and r["step"] == "started"]
    assert started and started[0]["value"] == "4"


async def test_campaign_costs_show_when_a_spend_file_is_set(
        database_url: str, tmp_path: object) -> None:
    from pathlib import Path

    spend = Path(str(tmp_path)) / "campaigns.yaml"
    spend.write_text("currency: EUR\ncampaigns:\n  - id: q3launch\n    spend: 1000\n")
    clock = Clock()
    with studio_container(database_url, clock) as container:
        container.settings.leadbot_campaigns = spend
        make_user(container, "viewer@example.com", "viewer")
        seed_prospects(container, clock)
        async with client(studio_app(container)) as http:
            await signed_in(http, "viewer@example.com")
            page = (await http.get("/studio/funnel")).text
    assert "<h2>Cost by campaign</h2>" in page
    # q3launch: Ada (linkedin) and Grace (google), both SQL → 500 per SQL.
    assert "q3launch" in page and "500" in page


async def test_leads_search_and_pages(as_role: object) -> None:
    async with as_role("marketer") as http:  # type: ignore[operator]
        everyone = (await http.get("/studio/leads")).text
        found = (await http.get("/studio/leads?q=grace")).text
        sql = (await http.get("/studio/leads?stage=sql")).text
        october = (await http.get("/studio/leads?since=2026-10-01&until=2026-10-31")).text
        wildcard = (await http.get("/studio/leads?q=%25")).text  # a literal %, not "anything"
    assert "6 leads" in everyone
    assert "1 lead<" in found and "Grace Hopper" in found
    assert "3 leads" in sql
    assert "2 leads" in october and "Ken T" in october
    assert "0 leads" in wildcard


async def test_a_prospect_s_html_is_shown_as_text(as_role: object, container: Container) -> None:
    lead = _lead_id(container, "101")
    async with as_role("marketer") as http:  # type: ignore[operator]
        pages = [(await http.get("/studio/leads")).text,
                 (await http.get(f"/studio/leads/{lead}")).text]
    for html in pages:
        assert EVIL_NAME not in html and escape(EVIL_NAME) in html
        assert "<b>Engines</b>" not in html and escape(EVIL_COMPANY) in html
    assert "<script>alert" not in pages[1] and escape(EVIL_ANSWER) in pages[1]


async def test_the_lead_file_has_words_options_transcript_and_reasons(
        as_role: object, container: Container) -> None:
    lead = _lead_id(container, "102")
    async with as_role("marketer") as http:  # type: ignore[operator]
        html = (await http.get(f"/studio/leads/{lead}")).text
        missing = await http.get("/studio/leads/999999")
    assert "“about 120 people”" not in html  # that was Ada; Grace typed 300
    assert "“300”" in html
    assert "Software &amp; SaaS" in html  # the matched option's label beside "software"
    assert 'class="transcript"' in html and "Which sector is your company in?" in html
    assert "intent" in html and "Why this score" in html
    assert missing.status_code == 404


async def test_viewers_see_no_contact_details(as_role: object, container: Container) -> None:
    lead = _lead_id(container, "102")
    async with as_role("viewer") as http:  # type: ignore[operator]
        listing = (await http.get("/studio/leads")).text
        searched = (await http.get("/studio/leads?q=grace")).text
        page = (await http.get(f"/studio/leads/{lead}")).text
        export = (await http.get("/studio/leads.csv")).text
    for html in (listing, page):
        for secret in ("Grace Hopper", "grace@example.com", "Cobol Inc", "Evil", "Grace"):
            assert secret not in html
    assert "0 leads" in searched  # names are not searchable either
    assert 'class="transcript"' not in page
    rows = list(csv.DictReader(io.StringIO(export)))
    assert len(rows) == 6
    assert all(not r["email"] and not r["name"] and not r["first_name"] for r in rows)
    assert "grace@example.com" not in export and "Hopper" not in export
    assert not any(column.startswith("answer_email") for column in rows[0])


async def test_marketers_export_every_lead_with_contacts(as_role: object) -> None:
    async with as_role("marketer") as http:  # type: ignore[operator]
        response = await http.get("/studio/leads.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["email"] for r in rows} >= {"grace@example.com", "ada@example.com"}

"""The script editor, preview, versions, experiments and inbox pages over HTTP (no browser)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import func, select

from bot.bootstrap import Container
from bot.service import ConversationKey, Profile
from conversations.exchange import Inbound
from storage.models import Lead, StudioAuditEntry
from storage.studio import StudioRepository
from tests.studio_support import Clock, client, make_user, signed_in, studio_app, studio_container

_REVISION = re.compile(r'name="revision" value="(\d+)"')


@asynccontextmanager
async def marketer(container: Container, email: str = "mia@example.com",
                   role: str = "marketer") -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    make_user(container, email, role)  # type: ignore[arg-type]
    async with client(studio_app(container)) as http:
        csrf = await signed_in(http, email)
        http.headers["X-CSRF-Token"] = csrf
        yield http, csrf


def draft_text(container: Container) -> str:
    with container.uow() as uow:
        record = StudioRepository(uow.session).draft("main")
    assert record is not None
    return record.yaml_text


async def revision(http: httpx.AsyncClient) -> str:
    match = _REVISION.search((await http.get("/studio/script")).text)
    assert match
    return match.group(1)


def audit_actions(container: Container) -> list[str]:
    """What the audit log recorded about scripts and experiments (not accounts)."""
    with container.uow() as uow:
        actions = uow.session.scalars(
            select(StudioAuditEntry.action).order_by(StudioAuditEntry.id))
        return [a for a in actions if a.startswith(("script.", "experiment."))]


async def test_form_edits_change_the_draft_in_place_and_survive_a_restart(
        database_url: str) -> None:
    with studio_container(database_url) as container:
        async with marketer(container) as (http, _):
            before = (await http.get("/studio/script")).text
            assert "Dans quel secteur est votre entreprise ?" in before
            rev = await revision(http)
            answer = await http.post("/studio/script/edit", data={
                "op": "text", "path": json.dumps(["questions", 0, "ask"]), "lang": "fr",
                "value": "Quel est votre secteur d'activité ?", "revision": rev})
            assert answer.status_code == 200 and 'class="error"' not in answer.text
            answer = await http.post("/studio/script/edit", data={
                "op": "synonym_add", "question": "sector", "option": "software", "lang": "fr",
                "value": "éditeur de progiciels", "revision": str(int(rev) + 1)})
            assert "now covers 0 past unmatched answers" in answer.text
            assert "éditeur de progiciels" in answer.text
        text = draft_text(container)
    with studio_container(database_url) as again:  # a new process: the draft is still there
        assert draft_text(again) == text
    assert 'fr: "Quel est votre secteur d\'activité ?"' in text
    assert "operateur telecoms, éditeur de progiciels]" in text  # appended in place
    assert text.count("\n") == (again.lifecycle.get_version(1).yaml_text.count("\n"))


async def test_an_outdated_page_cannot_overwrite_a_colleagues_edit(sqlite_url: str) -> None:
    with studio_container(sqlite_url) as container:
        async with marketer(container, "ann@example.com") as (ann, _):
            rev = await revision(ann)
            async with marketer(container) as (http, _):
                first = {"op": "text", "path": json.dumps(["greeting"]), "lang": "en",
                         "value": "Hello there!", "revision": rev, "section": "general"}
                assert "Hello there!" in (await http.post("/studio/script/edit",
                                                          data=first)).text
                # The same person's next edit from the same page lands on top of the first.
                own = dict(first, path=json.dumps(["questions", 0, "ask"]), value="Sector?",
                           section="sector")
                assert "Sector?" in (await http.post("/studio/script/edit", data=own)).text
            stale = dict(first, value="Overwritten?")  # Ann's page predates both
            answer = await ann.post("/studio/script/edit", data=stale)
            assert "since you opened it" in answer.text
            text = draft_text(container)
            assert "Overwritten?" not in text and "Hello there!" in text and "Sector?" in text


async def test_yaml_saves_report_the_script_check_problems_by_line(sqlite_url: str) -> None:
    with studio_container(sqlite_url) as container:
        async with marketer(container) as (http, _):
            rev = await revision(http)
            good = draft_text(container)
            broken = good.replace("    type: choice\n", "    type: choise\n", 1)
            line = broken.splitlines().index("    type: choise") + 1
            answer = await http.post("/studio/script/yaml", data={"yaml": broken, "revision": rev},
                                     headers={"Accept": "application/json"})
            body = answer.json()
            assert [(p["line"], p["path"]) for p in body["problems"]] == [
                (line, "questions[0].type")]
            assert body["problems"] == [p.model_dump() for p in
                                        container.lifecycle.validate(broken, filename="x")]
            assert "unknown question type 'choise'" in body["problems"][0]["message"]
            fixed = await http.post("/studio/script/yaml", headers={"Accept": "application/json"},
                                    data={"yaml": good, "revision": str(body["revision"])})
            assert fixed.json()["problems"] == []
            page = (await http.get("/studio/script")).text
            assert "No problems: the draft can be published." in page


async def test_the_preview_reaches_sql_and_writes_no_lead(database_url: str) -> None:
    with studio_container(database_url) as container:
        async with marketer(container) as (http, _):
            page = (await http.get("/studio/preview")).text
            assert "Which sector is your company in?" in page
            for text in ("<script>alert('x')</script> software", "120", "50k", "asap",
                         "Ada <b>Lovelace</b>", "ACME", "ada@example.com", "skip"):
                chat = await http.post("/studio/preview/say", data={"text": text})
            html = chat.text
            assert "<script>alert" not in html and "<b>Lovelace" not in html
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; software" in html
            assert "The Slack alert sales would get" in html
            assert "Qualified lead: Ada &lt;b&gt;Lovelace&lt;/b&gt; — ACME" in html
            assert 'class="pill SQL">SQL</span>' in html
        with container.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Lead)) == 0


async def test_publish_and_rollback_are_audited_and_viewers_cannot(sqlite_url: str) -> None:
    with studio_container(sqlite_url) as container:
        async with marketer(container, "vic@example.com", "viewer") as (viewer, _):
            assert (await viewer.post("/studio/versions/publish",
                                      data={"note": "x", "revision": "1"})).status_code == 403
        async with marketer(container) as (http, _):
            rev = await revision(http)
            await http.post("/studio/script/edit", data={
                "op": "text", "path": json.dumps(["questions", 0, "ask"]), "lang": "en",
                "value": "What does your company do?", "revision": rev})
            page = (await http.get("/studio/versions")).text
            assert "What does your company do?" in page  # the draft's change, listed
            published = await http.post("/studio/versions/publish", data={
                "note": "plainer wording", "revision": str(int(rev) + 1)})
            assert "Published version 2." in published.text
            assert container.lifecycle.active_deployment().version == 2  # type: ignore[union-attr]
            rolled = await http.post("/studio/versions/rollback",
                                     data={"version": "1", "note": "back to the old one"})
            assert "version 1 is served again" in rolled.text
            assert container.lifecycle.active_deployment().version == 1  # type: ignore[union-attr]
            diff = (await http.get("/studio/versions/diff?from=1&to=2")).text
            assert "What does your company do?" in diff
            # Discarding the draft starts it again from what is served (version 1 now).
            await http.post("/studio/script/edit", data={
                "op": "text", "path": json.dumps(["greeting"]), "lang": "en",
                "value": "Throwaway greeting", "revision": "0", "section": "general"})
            assert "Throwaway greeting" in draft_text(container)
            assert (await http.post("/studio/script/discard")).status_code == 303
            assert draft_text(container) == container.lifecycle.get_version(1).yaml_text
        assert audit_actions(container) == ["script.publish", "script.rollback"]


def seed_unmatched(container: Container, texts: list[str]) -> None:
    for number, text in enumerate(texts):
        key = ConversationKey("telegram", f"chat-{number}")
        service = container.service
        service.handle_message(key, Inbound(kind="command", command="start", language_code="en"),
                               message_id=None, profile=Profile(first_name="P"))
        service.handle_message(key, Inbound.parse_text(text), message_id=None,
                               profile=Profile(first_name="P"))


async def test_inbox_maps_an_answer_to_an_option_and_remembers_dismissals(
        database_url: str) -> None:
    with studio_container(database_url, Clock()) as container:
        seed_unmatched(container, ["quantum widgets", "quantum widgets", "<i>zzz</i> qqq"])
        async with marketer(container) as (http, _):
            page = (await http.get("/studio/inbox")).text
            assert "quantum widgets" in page and "&lt;i&gt;zzz&lt;/i&gt; qqq" in page
            assert "<i>zzz" not in page
            mapped = await http.post("/studio/inbox/map", data={
                "question": "sector", "option": "manufacturing", "text": "quantum widgets"})
            assert "covers 2 past unmatched answers" in mapped.text
            assert "✓ manufacturing in the draft" in mapped.text
            assert "quantum widgets" in draft_text(container)
            hostile = next(s.text for s in container.lifecycle.suggest_for_unmatched(
                question="sector") if "zzz" in s.text)
            dismissed = await http.post("/studio/inbox/dismiss", data={
                "question": "sector", "text": hostile})
            assert "dismissed" in dismissed.text
            assert "&lt;i&gt;zzz" not in (await http.get("/studio/inbox")).text


async def test_replay_counts_and_an_experiment_starts_and_stops(sqlite_url: str) -> None:
    with studio_container(sqlite_url) as container:
        seed_unmatched(container, ["quantum widgets"])
        async with marketer(container) as (http, _):
            await http.post("/studio/inbox/map", data={
                "question": "sector", "option": "software", "text": "quantum widgets"})
            replay = (await http.post("/studio/versions/replay")).text
            assert "Replayed 1 stored conversation" in replay
            assert "+1 / −0" in replay  # one answer newly understood
            rev = await revision(http)
            await http.post("/studio/versions/publish", data={"note": "v2", "revision": rev})
            started = await http.post("/studio/experiments/start", data={
                "name": "widgets", "version_a": "1", "weight_a": "50", "version_b": "2",
                "weight_b": "50"})
            assert "Experiment widgets started" in started.text
            assert "Running: widgets" in started.text
            stopped = await http.post("/studio/experiments/stop",
                                      data={"name": "widgets", "keep": "b"})
            assert "everyone gets version 2" in stopped.text
        assert audit_actions(container) == ["script.publish", "experiment.start",
                                            "experiment.stop"]

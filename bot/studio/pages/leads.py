"""Leads: a searchable, paginated list, one lead's file (answers, transcript, score), CSV export.

Viewers see no contact details: no names, emails, phones, usernames or companies, no
answers to contact questions and no transcript (the bot's messages can quote them).
"""

from __future__ import annotations

import io
from typing import Any

from starlette.responses import Response

from bot.reports.export import answered_questions, export_records, write_csv
from bot.reports.funnel import order_questions
from bot.reports.leads import STAGES, TEMPERATURES, LeadQuery, lead_file, search_leads
from bot.reports.periods import PeriodError, parse_moment
from bot.studio.roles import sees_contact_details
from bot.studio.script_labels import contact_questions, option_label, question_text
from bot.studio.web import Page, get

PER_PAGE = 50
_CONTACT_COLUMNS = ("chat_id", "username", "first_name", "last_name", "name", "company",
                    "email", "phone", "role")


def _query(page: Page) -> tuple[LeadQuery, str]:
    q = page.query
    error = ""
    try:
        since = parse_moment(q.get("since") or None, option="From", end=False)
        until = parse_moment(q.get("until") or None, option="To", end=True)
    except PeriodError as exc:
        since = until = None
        error = str(exc)
    stage = q.get("stage", "") if q.get("stage", "") in STAGES else ""
    temperature = q.get("temperature", "") if q.get("temperature", "") in TEMPERATURES else ""
    return LeadQuery(text=q.get("q", "")[:200], stage=stage, temperature=temperature,
                     source=q.get("source", "")[:64], since=since, until=until), error


def leads_page(page: Page) -> Response:
    query, error = _query(page)
    try:
        number = max(1, int(page.query.get("page", "1")))
    except ValueError:
        number = 1
    contacts = sees_contact_details(page.user.role)
    with page.studio.uow() as uow:
        rows, total = search_leads(uow.session, query, search_contacts=contacts,
                                   offset=(number - 1) * PER_PAGE, limit=PER_PAGE)
    params = {k: v for k, v in page.query.items() if k != "page" and v}
    return page.render("leads.html", rows=rows, total=total, page_number=number,
                       pages=max(1, -(-total // PER_PAGE)), params=params, error=error,
                       contacts=contacts, stages=STAGES, temperatures=TEMPERATURES,
                       form=page.query)


def lead_page(page: Page) -> Response:
    try:
        lead_id = int(page.request.path_params["lead_id"])
    except ValueError:
        lead_id = 0
    with page.studio.uow() as uow:
        found = lead_file(uow.session, lead_id)
    if found is None:
        return page.render("not_found.html", status_code=404,
                           what=f"No lead #{page.request.path_params['lead_id']}")
    script = page.studio.container.script.script
    contacts = sees_contact_details(page.user.role)
    hidden = frozenset() if contacts else contact_questions(script)
    lang = found.lead.language
    answers = [
        {"question": question_text(script, a.question_id, script.lang),
         "question_id": a.question_id, "words": a.raw_text,
         "option": option_label(script, a.question_id, a.option_id, script.lang),
         "value": a.value, "confidence": a.confidence, "via": a.via,
         "superseded": a.superseded, "at": a.at, "hidden": a.question_id in hidden}
        for a in found.answers]
    return page.render("lead.html", lead=found.lead, file=found, answers=answers,
                       contacts=contacts, lang=lang)


def _viewer_record(record: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    record = {**record, **{column: None for column in _CONTACT_COLUMNS}}
    record["answers"] = {q: a for q, a in record["answers"].items() if q not in hidden}
    return record


def leads_csv(page: Page) -> Response:
    """Every lead matching the period (the export's columns); viewers get no contact fields."""
    query, _ = _query(page)
    contacts = sees_contact_details(page.user.role)
    script = page.studio.container.script.script
    hidden = frozenset() if contacts else contact_questions(script)
    out = io.StringIO()
    with page.studio.uow() as uow:
        questions = [q for q in order_questions(script.question_ids(),
                                                answered_questions(uow.session))
                     if q not in hidden]
        records = export_records(uow.session, questions=questions, since=query.since,
                                 until=query.until)
        if not contacts:
            records = (_viewer_record(r, hidden) for r in records)
        write_csv(records, questions, out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="leads.csv"'})


ROUTES = [
    get("/leads", leads_page),
    get("/leads.csv", leads_csv),
    get("/leads/{lead_id}", lead_page),
]

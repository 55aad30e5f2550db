"""Speed to lead in `leadbot report` (table, JSON, HTML) and in Slack's `/leads`, on leads
played through the real service with an SLA and claimed at known moments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli_reports import report
from bot.reports.speed import ClaimFacts, speed_to_lead
from bot.slack.commands import claim_times, leads_message
from bot.slack.lead_actions import claim_lead
from tests.conftest import ControlledClock
from tests.sla_helpers import open_container, qualify, script_with_sla

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def fact(lead_id: int, claimed_after: float | None, *, sla: float | None = 10, rule: str = "#sales",
         rep: str | None = "sam", source: str = "ads") -> ClaimFacts:
    return ClaimFacts(lead_id=lead_id, qualified_at=T0,
                      claimed_at=T0 + timedelta(minutes=claimed_after) if claimed_after is not None else None,
                      deadline_at=T0 + timedelta(minutes=sla) if sla is not None else None,
                      rule=rule if sla is not None else "(no SLA)", rep=rep if claimed_after is not None else None,
                      source=source)


def test_median_p90_and_share_within_sla_by_rule_rep_and_source() -> None:
    facts = [fact(1, 2), fact(2, 4), fact(3, 30, rep="kim"), fact(4, None), fact(5, None, sla=600),
             fact(6, 5, sla=None, source="direct")]
    result = speed_to_lead(facts, now=T0 + timedelta(hours=1))
    assert (result.total.qualified, result.total.claimed) == (6, 4)
    assert result.total.median_seconds == 4.5 * 60  # of 2, 4, 5, 30 minutes
    # 1, 2 within; 3 late; 4 breached unclaimed; 5 still within its 10 h; 6 has no SLA
    assert result.total.within_sla == 2 / 4
    by_rule = {r.group: r for r in result.by["rule"]}
    assert by_rule["(no SLA)"].within_sla is None and by_rule["#sales"].qualified == 5
    by_rep = {r.group: (r.claimed, r.within_sla) for r in result.by["rep"]}
    assert by_rep == {"sam": (3, 1.0), "kim": (1, 0.0), "(unclaimed)": (0, 0.0)}
    assert {r.group for r in result.by["source"]} == {"ads", "direct"}


def test_report_and_leads_command_show_speed_to_lead(tmp_path: Path, clock: ControlledClock) -> None:
    url = f"sqlite:///{tmp_path / 'speed.db'}"
    container = open_container(url, script_with_sla(tmp_path, {"claim_within": "10m"}), clock)
    fast, slow, waiting = qualify(container, "1"), qualify(container, "2"), qualify(container, "3")
    for lead_id, minutes in ((fast, 3), (slow, 25)):
        with container.uow() as uow:
            claim_lead(uow, lead_id=lead_id, user_id="U0SAM0001", user_name="sam",
                       now=clock.now + timedelta(minutes=minutes))
            uow.commit()
    with container.uow() as uow:  # what /leads shows 42 minutes after they qualified
        leads = [lead for lead in (uow.leads.get(i) for i in (fast, slow, waiting)) if lead is not None]
        text = leads_message(leads, scope="", now=clock.now + timedelta(minutes=42),
                             claimed=claim_times(uow, leads))["text"]
    container.close()
    lines = dict(zip((fast, slow, waiting), text.splitlines()[1:], strict=True))
    assert lines[waiting].endswith("unclaimed · waiting 42 min")
    assert lines[fast].endswith("claimed by <@U0SAM0001> after 3 min")
    assert lines[slow].endswith("claimed by <@U0SAM0001> after 25 min")

    result = CliRunner().invoke(report, ["--format", "json"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    speed = json.loads(result.output)["speed_to_lead"]
    assert speed["all"]["sql"] == 3 and speed["all"]["claimed"] == 2
    assert speed["all"]["median_seconds_to_claim"] == 14 * 60  # 3 and 25 minutes
    assert speed["all"]["within_sla"] == 1 / 3  # fast in time; slow late; waiting is long past due
    assert speed["by_rule"][0]["group"] == "#sales" and speed["by_rep"][0]["group"] == "sam"

    table = CliRunner().invoke(report, [], env={"DATABASE_URL": url}).output
    assert "Speed to lead (SQL → claim)" in table and "33.3%" in table
    html_path = tmp_path / "report.html"
    CliRunner().invoke(report, ["--html", str(html_path)], env={"DATABASE_URL": url})
    assert "Speed to lead" in html_path.read_text(encoding="utf-8")

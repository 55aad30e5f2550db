"""The workspace in Debian's Chromium, as a marketer and a viewer would use it: sign in, read
the funnel and filter it, find a lead and read its file; at laptop and phone widths.

Set LEADBOT_SCREENSHOTS=docs/screenshots to refresh the README's screenshots.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.studio_browser import (  # noqa: F401  (pytest fixtures)
    StudioServer,
    browser,
    requires_chromium,
    screenshot,
    studio_page,
    studio_server,
)
from tests.studio_seed import EVIL_ANSWER, EVIL_NAME, seed_prospects

pytestmark = requires_chromium
expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not "
                             "installed (pip install -e '.[test]')").expect


def _seed(server: StudioServer) -> None:
    seed_prospects(server.container, server.clock)


def test_sign_in_with_the_keyboard_and_sign_out(browser: Any, studio_server: StudioServer
                                                ) -> None:
    from tests.studio_browser import LAPTOP, PHONE
    from tests.studio_support import PASSWORD

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        page.goto(studio_server.url + "/studio/leads")
        assert "/studio/login" in page.url
        screenshot(page, "sign-in")
        page.set_viewport_size(PHONE)
        screenshot(page, "sign-in-phone")
        page.set_viewport_size(LAPTOP)
        page.keyboard.type("marketer@example.com")  # the email field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type("not my password")
        page.keyboard.press("Enter")
        page.get_by_role("alert").wait_for()
        assert "Wrong email or password" in page.get_by_role("alert").inner_text()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url("**/studio/leads")  # back where the sign-in interrupted
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/studio/login")
        page.goto(studio_server.url + "/studio/leads")
        assert "/studio/login" in page.url
    finally:
        context.close()


def test_read_the_funnel_and_filter_it(studio_page: Any, studio_server: StudioServer) -> None:
    _seed(studio_server)
    page = studio_page("marketer")
    page.get_by_role("link", name="Funnel").click()
    page.wait_for_url("**/studio/funnel")

    def kpi(name: str) -> str:
        return str(page.locator(f'[data-kpi="{name}"] b').inner_text())

    assert (kpi("started"), kpi("SQL"), kpi("MQL")) == ("6", "3", "4")
    assert page.locator('svg[data-chart="funnel"] rect').count() > 5
    assert page.get_by_role("heading", name="Speed to lead (SQL → claim)").is_visible()
    screenshot(page, "funnel-laptop")

    page.get_by_label("From", exact=True).fill("2026-11-01")
    page.get_by_label("To (included)", exact=True).fill("2026-11-30")
    page.get_by_label("Break down by").select_option("source")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**since=2026-11-01**")
    assert (kpi("started"), kpi("SQL"), kpi("MQL")) == ("4", "2", "3")
    assert page.get_by_role("heading", name="By source", exact=True).is_visible()
    assert page.get_by_role("columnheader", name="linkedin", exact=True).is_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    csv_text = open(download.value.path(), encoding="utf-8").read()
    assert csv_text.startswith("group,step,question,metric,value,unit")
    assert "all,started,,count,4," in csv_text

    phone = studio_page("viewer", phone=True)
    phone.goto(studio_server.url + "/studio/funnel")
    assert phone.locator('[data-kpi="SQL"] b').inner_text() == "3"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(phone, "funnel-phone")


def test_find_a_lead_and_read_its_file(studio_page: Any, studio_server: StudioServer) -> None:
    _seed(studio_server)
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/leads")
    assert page.locator("table.rows tbody tr").count() == 6
    screenshot(page, "leads-laptop")
    page.get_by_label("Search").fill("ada@example")  # results follow the typing (htmx)
    expect(page.locator("table.rows tbody tr")).to_have_count(1)
    assert "q=ada%40example" in page.url or "q=ada@example" in page.url
    page.get_by_role("link", name=EVIL_NAME).click()  # the name is text, not an image
    page.wait_for_url("**/studio/leads/*")
    assert page.get_by_role("heading", level=1).inner_text() == EVIL_NAME
    assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
    words = page.locator("td.words").first.inner_text()
    assert words == f"“{EVIL_ANSWER}”"
    transcript = page.get_by_role("list", name="Conversation")
    assert EVIL_ANSWER in transcript.inner_text()
    assert "Which sector is your company in?" in transcript.inner_text()
    assert page.get_by_role("heading", name="Why this score").is_visible()
    screenshot(page, "lead-laptop")

    phone = studio_page("marketer", phone=True)
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "lead-phone")


def test_a_viewer_sees_no_contact_details(studio_page: Any, studio_server: StudioServer) -> None:
    _seed(studio_server)
    page = studio_page("viewer", phone=True)
    page.goto(studio_server.url + "/studio/leads")
    text = page.locator("main").inner_text()
    for secret in ("ada@example.com", "Grace Hopper", "Cobol Inc", "Evil"):
        assert secret not in text
    screenshot(page, "leads-phone-viewer")
    page.get_by_role("link", name="Lead #2").click()
    page.wait_for_url("**/studio/leads/2")
    text = page.locator("main").inner_text()
    assert "grace@example.com" not in text and "Grace Hopper" not in text
    assert "hidden: contact detail" in text
    assert page.get_by_role("link", name="Users").count() == 0  # admins only


def test_an_admin_adds_a_colleague_and_reads_the_audit_log(
        studio_page: Any, studio_server: StudioServer) -> None:
    page = studio_page("admin")
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Email", exact=True).fill("new.marketer@example.com")
    page.get_by_label("Role", exact=True).select_option("marketer")
    page.get_by_role("button", name="Add and show a one-time password").click()
    notice = page.get_by_role("status")
    assert "new.marketer@example.com" in notice.inner_text()
    one_time = page.locator("[role=status] code").inner_text()
    assert len(one_time) >= 12
    screenshot(page, "users-laptop")
    page.get_by_role("link", name="Audit").click()
    page.wait_for_url("**/studio/audit")
    row = page.locator("tbody tr").first.inner_text()
    assert "user.add" in row and "new.marketer@example.com" in row and "admin@example.com" in row
    screenshot(page, "audit-laptop")
    phone = studio_page("admin", phone=True)
    phone.goto(studio_server.url + "/studio/users")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "users-phone")
    phone.goto(studio_server.url + "/studio/audit")
    screenshot(phone, "audit-phone")

"""`leadbot report --html`: one self-contained page whose charts a real browser renders.

The browser test runs Debian's chromium headless on the file (no network: the page's
Content-Security-Policy forbids any fetch, and chromium's own background traffic is
switched off). It is skipped, saying why, where chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_reports import report
from tests.test_reports_seed import (
    Seeded,
    seeded_database,
)

CAMPAIGNS = Path(__file__).parent / "data" / "campaigns.yaml"
CHARTS = ("funnel", "drop-off", "time-to-sql", "sources")
CHROMIUM = "/usr/bin/chromium"

@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded_database(tmp_path_factory)



@pytest.fixture(scope="module")
def page(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    result = CliRunner().invoke(
        report, ["--html", str(path), "--by", "source", "--campaigns", str(CAMPAIGNS)],
        env={"DATABASE_URL": seeded.url},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {path}" in result.stderr
    return path


def test_page_is_self_contained(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    # Nothing to fetch: no external URL in any attribute, no script, no link, no img.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html and "<img" not in html
    for chart in CHARTS:
        assert f'data-chart="{chart}"' in html
    assert "linkedin/q3launch" in html and "(none)" in html


def test_html_escapes_what_users_control(seeded: Seeded, tmp_path: Path) -> None:
    from bot.reports.funnel import Filters, build_report
    from bot.reports.html import render_html

    empty = build_report([], questions=["<b>q</b>"], filters=Filters(None, None, "<x>", None))
    html = render_html(empty)
    assert "<b>q</b>" not in html and "&lt;b&gt;q&lt;/b&gt;" in html
    assert "&lt;x&gt;" in html


@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="chromium is not installed (apt-get install -y chromium)")
def test_chromium_renders_the_charts(page: Path, tmp_path: Path) -> None:
    assert shutil.which(CHROMIUM)
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>Leadbot funnel report</title>" in dom
    for chart in CHARTS:
        match = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', dom, re.DOTALL)
        assert match, f"chart {chart} missing from the rendered DOM"
        assert "<rect" in match.group(0), f"chart {chart} has no bars"
    # The page itself must log nothing: no CSP violation (a fetch attempt), no JS error.
    console = [l for l in done.stderr.splitlines() if "CONSOLE" in l or "Content Security" in l]
    assert console == [], console

"""The real app in real headless Chromium: Overview, a filtered link, and the Data page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser import ROOT, chromium_page, require_browser, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.browser


def summary_json(db: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "parity", "summary", "--db", str(db), "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def rl_of(rows: list[dict], group: str) -> str:
    return f"{next(r for r in rows if r['group'] == group)['rl']:.2f}"


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def test_overview_headlines_match_the_summary_cli(server: str, sample_db: Path):
    minority = rl_of(summary_json(sample_db, "--by", "ethnic_minority"), "Ethnic minority (excluding White minorities)")
    img = rl_of(summary_json(sample_db, "--by", "pmq_region"), "International medical graduate (IMG)")
    doctors_img = rl_of(
        summary_json(sample_db, "--by", "pmq_region", "--profession", "doctor", "--from", "2020/21"),
        "International medical graduate (IMG)",
    )
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=2)
        metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
        screenshot(page, "overview")
        assert minority in metrics, (minority, metrics)
        assert img in metrics, (img, metrics)

        page.goto(server + "/?profession=Doctors&from=2020%2F21&by=Place+of+primary+qualification")
        wait_idle(page, charts=2)
        metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
        screenshot(page, "overview_filtered")
        assert doctors_img in metrics, (doctors_img, metrics)
        assert "Doctors, 2020/21 to 2024/25" in page.inner_text("body")
        assert page.locator("text=International medical graduate (IMG)").count() > 0


def test_invalid_link_values_are_noted_not_fatal(server: str):
    with chromium_page() as page:
        page.goto(server + "/?profession=Nurses&by=Star+sign")
        wait_idle(page, charts=2)
        body = page.inner_text("body")
        screenshot(page, "overview_invalid_link")
        assert "Ignored from the link" in body
        assert "profession=Nurses" in body
        assert "Traceback" not in body


def test_data_page(server: str):
    with chromium_page() as page:
        page.goto(server + "/data")
        wait_idle(page, charts=1)
        body = page.inner_text("body")
        screenshot(page, "data")
        assert "What is loaded" in body
        assert "Every row of the last export loaded" in body
        assert "Methods" in body


def test_first_link_to_a_page_on_a_fresh_server_is_routed(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base, chromium_page() as page:
        page.goto(base + "/data")
        wait_idle(page, charts=1)
        assert page.locator("text=Page not found").count() == 0
        assert page.locator("[data-testid='stSidebar'] >> text=Reset filters").count() == 1
        assert page.locator("h1:has-text('Data and methods')").count() == 1


def _opened_at_its_own_address(page, base: str, path: str, charts: int) -> tuple[list[str], list[str]]:
    """Open ``base + path`` as a link does; the addresses the browser asked for, and its websockets'."""
    asked: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(base + path)
    wait_idle(page, charts=charts)
    return asked, sockets


def test_a_page_opened_at_its_own_address_finds_the_server_at_once(server: str):
    """A link or bookmark to a page other than the first: Streamlit's browser code is told where the server is
    (serve.ConnectHere) and asks there first, not at the page's own address (a refusal, then 100 ms waited)."""
    with chromium_page() as page:
        asked, sockets = _opened_at_its_own_address(page, server, "/durations", charts=1)
        assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == server + "/"
        assert not [url for url in asked if "/durations/_stcore/" in url], asked
        assert f"{server}/_stcore/health" in asked
        assert sockets == [server.replace("http://", "ws://") + "/_stcore/stream"]
        assert page.title() == "Durations · Parity"
        # The first page is served as before, and a click on a link still moves between pages.
        page.goto(server + "/")
        wait_idle(page, charts=1)
        assert page.evaluate("window.__streamlit === undefined")
        page.locator("[data-testid='stSidebar'] a:has-text('Data and methods')").click()
        wait_idle(page, charts=1)
        assert page.url.startswith(server + "/data")


def test_under_a_base_path_a_page_finds_the_server_at_once(sample_db: Path):
    """The same with ``server.baseUrlPath``: the server is looked for at the app's root under that path."""
    require_browser()
    with streamlit_server(sample_db, args=["--server.baseUrlPath", "parity"]) as base, chromium_page() as page:
        assert base.endswith("/parity")
        asked, sockets = _opened_at_its_own_address(page, base, "/concern-rates", charts=1)
        assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == base + "/"
        assert not [url for url in asked if "/concern-rates/_stcore/" in url], asked
        assert sockets == [base.replace("http://", "ws://") + "/_stcore/stream"]
        assert page.title() == "Concern rates · Parity"
        assert page.locator("text=Page not found").count() == 0


def test_a_data_table_is_drawn_when_its_expander_is_opened(server: str):
    """A chart's data table is drawn once its expander is opened (by keyboard here), with focus kept on it."""
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=2)
        assert page.locator("[data-testid='stDataFrame']").count() == 0  # closed: no grid to draw
        summary = page.locator("[data-testid='stExpander'] summary", has_text="Data table").first
        summary.focus()
        page.keyboard.press("Enter")
        grid = page.locator("[data-testid='stExpander'] [data-testid='stDataFrame']")
        grid.first.wait_for(timeout=30_000)
        wait_idle(page, charts=2)
        assert grid.count() == 1
        assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
        screenshot(page, "overview_data_table_open")


# Each page's charts, as the sidebar's links open them, and how many there are.
CHART_PAGES = {"": 2, "concern-rates": 6, "outcomes": 3, "durations": 5, "organisation": 1, "pathways": 3}


def test_charts_are_drawn_in_the_margins_they_came_with(server: str):
    """parity.charts.margins: each chart arrives with left and right margins wide enough for its labels and colour
    bars, so Plotly never grows them and draws the chart a second time (it did for nearly every chart). Legends
    under a chart can still wrap onto another line in a narrow window, so the bottom is not held to this."""
    grown = []
    with chromium_page() as page:
        for path, count in CHART_PAGES.items():
            page.goto(f"{server}/{path}")
            wait_idle(page, charts=count)
            for chart in page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({"
                "title: (gd.layout.title || {}).text || '', given: gd.layout.margin || {},"
                " drawn: gd._fullLayout._size}))"
            ):
                for side in ("l", "r"):
                    if chart["drawn"][side] > chart["given"].get(side, 0):
                        grown.append((path, chart["title"][:60], side, chart["given"].get(side), chart["drawn"][side]))
    assert not grown, grown

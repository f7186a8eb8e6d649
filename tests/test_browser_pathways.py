"""Pathways in real headless Chromium: a row of the transition table, or a marker of the forest plot, drills into a
step (kept in the link), and a funnel point opens that organisation on the Organisation page."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlparse

import pytest
from browser import chromium_page, require_browser, screenshot, streamlit_server, wait_idle

from parity import contract
from parity.measures import STEP_BY_KEY

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
EFFECTS = {e["id"]: e for e in json.loads((ROOT / "sample_data" / "effects.json").read_text())["effects"]}
IMG = contract.PMQ_REGIONS["IMG"]
BY_PMQ = "by=" + quote_plus(contract.SPLITS["pmq_region"].label)
# The transition table's rows: each step in order, and within it the place-of-qualification groups in order.
IMG_FORMAL_FIRST_ROW = 1 * len(contract.PMQ_REGIONS) + list(contract.PMQ_REGIONS).index("IMG")
ROW_HEIGHT = 35  # Streamlit's data grid: header and rows


@pytest.fixture(scope="module")
def server(sample_db: Path):
    """The app at the full level (exact counts), as an analyst sees it: the funnel finds the planted organisations."""
    require_browser()
    with streamlit_server(sample_db, {"PARITY_VIEWER_LEVEL": "full"}) as base:
        yield base


def open_pathways(page, base: str, query: str) -> None:
    page.goto(base + "/")  # the router knows its pages once a session has run
    wait_idle(page, charts=1)
    page.goto(f"{base}/pathways?{query}")
    wait_idle(page, charts=3)


def params(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_a_table_row_drills_into_its_step(server: str):
    with chromium_page() as page:
        open_pathways(page, server, BY_PMQ)
        assert "Traceback" not in page.inner_text("body")
        assert page.locator("h1").first.inner_text().startswith("Pathways: cases about")
        screenshot(page, "pathways")

        # The transition table is drawn once its section (below the forest plot) is opened.
        assert page.locator(".st-key-pathways_transitions").count() == 0
        summary = page.locator("[data-testid='stExpander'] summary", has_text="Transition table")
        summary.scroll_into_view_if_needed()
        summary.click()
        grid = page.locator(".st-key-pathways_transitions [data-testid='stDataFrame']")
        grid.wait_for(timeout=30_000)
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        box = grid.bounding_box()
        assert box is not None, "the transition table is not drawn"
        y = box["y"] + ROW_HEIGHT * (IMG_FORMAL_FIRST_ROW + 1) + ROW_HEIGHT / 2  # below the header row
        page.mouse.click(box["x"] + 18, y)  # the row's selection box, at the left of the row
        page.wait_for_function("window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert params(page)["drill"] == [IMG] and params(page)["step"] == ["formal_first"]
        body = page.inner_text("body")
        assert "all groups by place of primary qualification › " + IMG in body
        assert "by organisation type, region and concern type" in body
        screenshot(page, "pathways_drilled")

        # The link reproduces the drill in a new session.
        link = page.url
        page.goto(server + "/")
        wait_idle(page, charts=1)
        page.goto(link)
        wait_idle(page, charts=3)
        assert "by organisation type, region and concern type" in page.inner_text("body")


def test_a_forest_marker_drills_into_its_group_and_step(server: str):
    excluded = STEP_BY_KEY["excluded"].label
    with chromium_page() as page:
        open_pathways(page, server, BY_PMQ)
        forest = page.locator(".st-key-pathways_forest .js-plotly-plot")
        forest.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the chart settles after the scroll
        found = forest.evaluate(
            "(el, [group, step]) => { const t = el.data.findIndex(d => d.name === group);"
            " return [t, t < 0 ? -1 : el.data[t].customdata.findIndex(c => c[1] === step)]; }",
            [IMG, excluded],
        )
        trace, index = found
        assert trace >= 0 and index >= 0, found
        point = forest.locator(".scatterlayer .trace").nth(trace).locator(".point").nth(index)
        box = point.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert params(page)["drill"] == [IMG] and params(page)["step"] == ["excluded"]
        assert f"{IMG}: " in page.inner_text("body")
        screenshot(page, "pathways_marker_drilled")


def test_a_funnel_point_opens_its_organisation(server: str):
    label = quote_plus(STEP_BY_KEY["formal_first"].label)
    with chromium_page() as page:
        open_pathways(page, server, f"{BY_PMQ}&funnel_step={label}&funnel_group={quote_plus(IMG)}")
        screenshot(page, "pathways_funnel")
        funnel = page.locator(".st-key-pathways_funnel .js-plotly-plot")
        funnel.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the chart settles after the screenshot's resize and the scroll
        trace = funnel.evaluate("el => el.data.findIndex(t => (t.name || '').startsWith('Above the 99.8%'))")
        assert trace >= 0, "no organisation above the 99.8% limit"
        point = funnel.locator(".scatterlayer .trace").nth(trace).locator(".point").first
        box = point.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("window.location.pathname.endsWith('/organisation')", timeout=30_000)
        wait_idle(page, charts=2)
        body = page.inner_text("body")
        names = {EFFECTS["E8a"]["org_name"], EFFECTS["E8b"]["org_name"]}
        assert "Your organisation beside national" in body
        assert any(f"{name} (" in body for name in names)  # picked in the sidebar's Organisation filter
        assert params(page).get("org"), page.url
        screenshot(page, "pathways_opened_organisation")

"""Concern rates in real headless Chromium: clicking a group's point drills into it, and the link keeps the drill."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser import chromium_page, require_browser, screenshot, streamlit_server, wait_idle

from parity import contract

pytestmark = pytest.mark.browser

BLACK = contract.BLACK
# The rate chart draws one trace per group, in the split's order: White, Mixed, Asian, Black, ...
BLACK_TRACE = contract.ETHNIC_GROUPS.index(BLACK)


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_idle(page, charts=5)


def drill_param(page) -> list[str]:
    return parse_qs(urlparse(page.url).query).get("drill", [])


def click_point(page, chart: int, trace: int) -> None:
    """Click a point's centre with the mouse: Plotly's drag layer takes clicks meant for the point's element."""
    point = page.locator(".js-plotly-plot").nth(chart).locator(".scatterlayer .trace").nth(trace).locator(".point")
    point.first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = point.first.bounding_box()
    assert box is not None, "the point is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_click_a_point_to_drill_and_clear_it(server: str):
    with chromium_page() as page:
        page.goto(server + "/")  # the router knows its pages once a session has run
        wait_idle(page, charts=1)
        open_page(page, server + "/concern-rates")
        body = page.inner_text("body")
        assert "Traceback" not in body
        assert "times as often as White practitioners" in page.locator("h1").first.inner_text()
        screenshot(page, "concern_rates")

        click_point(page, chart=0, trace=BLACK_TRACE)
        page.wait_for_function("window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert drill_param(page) == [BLACK]
        body = page.inner_text("body")
        assert f"all groups by ethnic group › {BLACK}" in body  # the breadcrumb
        assert "By organisation type" in body and "By region" in body
        assert "Referral rates by ethnic group" not in body
        screenshot(page, "concern_rates_drilled")

        # The link reproduces the drill in a new session.
        link = page.url
        page.goto(server + "/")
        wait_idle(page, charts=1)
        open_page(page, link)
        assert f"all groups by ethnic group › {BLACK}" in page.inner_text("body")

        page.get_by_role("button", name="Clear drill").click()
        page.wait_for_function("!window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=5)
        assert drill_param(page) == []
        assert "Referral rates by ethnic group" in page.inner_text("body")


def test_forest_plot_click_drills_too(server: str):
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=1)
        open_page(page, server + "/concern-rates?by=Place+of+primary+qualification&window=3")
        img = list(contract.PMQ_REGIONS).index("IMG")
        click_point(page, chart=1, trace=img)
        page.wait_for_function("window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert drill_param(page) == [contract.PMQ_REGIONS["IMG"]]
        assert "window=3" in page.url
        screenshot(page, "concern_rates_drilled_pmq")


def test_heatmap_tabs_and_sub_national_view(server: str):
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=1)
        open_page(page, server + "/concern-rates?region=London")
        page.get_by_role("tab", name="Against White, same place of qualification").click()
        page.wait_for_timeout(800)
        body = page.inner_text("body")
        assert "Numbers are protected" in body  # the rule's sentence (issue 9: every cell at the protected level)
        assert "Traceback" not in body
        screenshot(page, "concern_rates_london")

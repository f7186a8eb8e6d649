"""Outcomes and Durations in real headless Chromium: the charts draw, a click on a point drills into that
group (breadcrumb, ``drill=`` in the URL), and a copied link reproduces the drill."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser import IDLE, chromium_page, require_browser, screenshot, streamlit_server, wait_idle

from parity import contract

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def open_page(page, url: str, charts: int) -> None:
    page.goto(url)
    page.wait_for_selector("text=Compare by", timeout=60_000)  # the router and its sidebar ran, even on a deep link
    wait_idle(page, charts=charts)


def click_point(page, chart: int, trace: int) -> None:
    """Click the centre of the first drawn marker of one trace of the ``chart``-th Plotly chart on the page.

    Plotly's drag layer sits over the markers and swallows locator clicks, so the mouse goes to the
    marker's bounding box instead.
    """
    plot = page.locator(".js-plotly-plot").nth(chart)
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    for point in plot.locator("g.trace.scatter").nth(trace).locator("g.points path.point").all():
        box = point.bounding_box()
        if box and box["width"] > 2 and box["height"] > 2:
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            return
    raise AssertionError(f"no drawn marker in chart {chart}")


def drilled_group(url: str) -> str:
    return parse_qs(urlparse(url).query)["drill"][0]


def follow_drill(page) -> str:
    page.wait_for_url(re.compile(r"[?&]drill="), timeout=30_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_selector("text=Clear drill", timeout=60_000)
    wait_idle(page, charts=1)
    return drilled_group(page.url)


def test_outcomes_click_drills_into_a_group(server: str):
    with chromium_page() as page:
        open_page(page, server + "/outcomes", charts=3)
        body = page.inner_text("body")
        screenshot(page, "outcomes")
        assert "Where the path diverges" in body and "Benjamini–Hochberg" in body
        assert "Traceback" not in body

        click_point(page, 1, trace=1)  # the key-measure panels: the first group after the reference
        group = follow_drill(page)
        assert group in contract.SPLITS["ethnic_group"].groups and group != "White"
        body = page.inner_text("body")
        screenshot(page, "outcomes_drilled")
        assert f"{group}: by organisation type, region and concern type" in body
        assert "Traceback" not in body


def test_durations_click_drills_into_a_group(server: str):
    with chromium_page() as page:
        open_page(page, server + "/durations?by=Place+of+primary+qualification", charts=4)
        body = page.inner_text("body")
        screenshot(page, "durations")
        assert "Time from referral to closure" in body and "log-rank" in body
        assert "Traceback" not in body

        click_point(page, 1, trace=1)  # the medians: the first group after the reference
        group = follow_drill(page)
        assert group in contract.SPLITS["pmq_region"].groups and group != "UK graduate"
        body = page.inner_text("body")
        screenshot(page, "durations_drilled")
        assert f"{group}: time to closure by organisation type, region and concern type" in body
        assert "Traceback" not in body


def test_a_drill_link_reproduces_the_view_and_clears(server: str):
    group = "Black or Black British"
    with chromium_page() as page:
        open_page(page, server + "/outcomes?drill=Black+or+Black+British&profession=Doctors", charts=4)
        body = page.inner_text("body")
        assert f"{group}: by organisation type, region and concern type" in body
        assert "Doctors" in body
        page.get_by_role("button", name="Clear drill").click()
        page.wait_for_function("!window.location.search.includes('drill=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert f"{group}: by organisation type" not in page.inner_text("body")
        assert "drill=" not in page.url


def test_follow_up_and_strata_choices_go_into_the_link(server: str, sample_db: Path):
    """Issue 13: the Outcomes page's follow-up cohort and the Durations page's strata are page options a person
    clicks, kept in the URL, and each page says what it counted or which test it ran."""
    with chromium_page() as page:
        open_page(page, server + "/outcomes", charts=3)
        assert "These shares are among closed cases only" in page.inner_text("body")
        page.get_by_text("12 months", exact=True).click()
        page.wait_for_url(re.compile(r"[?&]followup=12"), timeout=30_000)
        wait_idle(page, charts=3)
        body = page.inner_text("body")
        assert "Cases referred at least 12 months before the extract date only" in body
        screenshot(page, "outcomes_followed_up")

        open_page(page, server + "/durations?strata=referral+year", charts=4)
        body = page.inner_text("body")
        # The browser tests' server is protected: no log-rank test at all, so no strata to choose; it says why.
        assert "No log-rank tests at the protected level" in body and "Traceback" not in body
        assert page.get_by_text("referral year", exact=True).count() == 0
        screenshot(page, "durations_strata_protected")
    with streamlit_server(sample_db, {"PARITY_VIEWER_LEVEL": "full"}) as full, chromium_page() as page:
        open_page(page, full + "/durations", charts=4)
        page.get_by_text("referral year", exact=True).click()
        page.wait_for_url(re.compile(r"[?&]strata=referral"), timeout=30_000)
        wait_idle(page, charts=4)
        body = page.inner_text("body")
        assert "log-rank stratified by financial year of referral" in body
        screenshot(page, "durations_strata_full")

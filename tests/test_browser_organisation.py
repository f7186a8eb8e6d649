"""The Organisation page in real headless Chromium (issue 14): a click on a funnel outlier in a national view opens
that organisation (its profile and rates); in an employer view the page opens on the employer's own profile, other
organisations' points open nothing, and filters that would single out another organisation show no figures."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser import chromium_page, require_browser, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

OUTLIER = "Above the 99.8% limit (outlier)"
WITHIN = "Within the 95% limits"


def _point(page, chart: int, trace_name: str) -> tuple[float, float, str]:
    """The page coordinates of the first point of a named trace, and the label its hover shows."""
    plot = page.locator(".js-plotly-plot").nth(chart)
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    index, label = plot.evaluate(
        "(gd, name) => { const i = gd.data.findIndex(t => t.name === name);"
        " return [i, i < 0 ? null : gd.data[i].customdata[0][0]]; }",
        trace_name,
    )
    assert index >= 0, f"no trace named {trace_name!r}"
    point = plot.locator(".scatterlayer .trace").nth(index).locator(".point").first
    box = point.bounding_box()
    assert box is not None, "the point is not drawn"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, label


def _org_param(page) -> list[str]:
    return parse_qs(urlparse(page.url).query).get("org", [])


def test_national_funnel_click_opens_the_organisation(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base, chromium_page() as page:
        page.goto(base + "/")
        wait_idle(page, charts=1)
        page.goto(base + "/organisation?by=Ethnic+minority+vs+White")
        wait_idle(page, charts=1)
        assert "Click an organisation's point to open it" in page.inner_text("body")
        x, y, name = _point(page, chart=0, trace_name=OUTLIER)
        assert name and name != "Another organisation"
        page.mouse.click(x, y)
        page.wait_for_function("window.location.search.includes('org=')", timeout=30_000)
        wait_idle(page, charts=3)
        assert _org_param(page) and _org_param(page)[0].startswith(name)
        body = page.inner_text("body")
        assert f"{name} beside national figures" in body and "Range across organisations" in body
        assert "Traceback" not in body
        screenshot(page, "organisation_clicked_outlier")


def test_employer_view_opens_on_its_profile_and_refuses_isolating_filters(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db, {"PARITY_VIEWER_ORG": "R1C"}) as base, chromium_page() as page:
        page.goto(base + "/")
        wait_idle(page, charts=1)
        assert "Employer view:" in page.inner_text("body")
        page.goto(base + "/organisation?by=Ethnic+minority+vs+White")
        wait_idle(page, charts=3)
        body = page.inner_text("body")
        assert "Employer view:" in body and "beside national figures" in body and "cannot be opened" in body
        screenshot(page, "organisation_employer")
        before = page.url
        x, y, name = _point(page, chart=1, trace_name=WITHIN)
        assert name == "Another organisation"
        page.mouse.click(x, y)
        page.wait_for_timeout(1500)
        wait_idle(page)
        assert page.url == before  # nothing opened: other organisations are not clickable

        page.goto(base + "/concern-rates?region=London&org_type=Other+organisation&org=")
        wait_idle(page)
        body = page.inner_text("body")
        assert "No figures for these filters" in body and "one organisation other than yours" in body
        assert page.locator(".js-plotly-plot").count() == 0
        screenshot(page, "concern_rates_employer_refused")

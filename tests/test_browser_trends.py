"""The Trends page in real headless Chromium: the XmR charts, a link from the Overview's icon summary, a chart's
PNG download, and the meeting pack button with its progress and downloads."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import chromium_page, require_browser, screenshot, streamlit_server, wait_idle
from pptx import Presentation
from pypdf import PdfReader

from parity.measures import INDICATORS

pytestmark = pytest.mark.browser
SLOW = 300_000  # ms: drawing ten charts in Chromium on a busy two-core machine


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def test_trends_page_draws_every_indicator_tab_by_tab(server: str):
    families = list(dict.fromkeys(i.family for i in INDICATORS))
    with chromium_page() as page:
        page.goto(server + "/trends")
        wait_idle(page, charts=2, timeout=SLOW)
        screenshot(page, "trends")
        body = page.inner_text("[data-testid='stMain']")
        assert "Relative likelihood of referral, ethnic minority vs White: fell to" in body
        assert "special-cause improvement" in body
        assert "Traceback" not in body
        for family in families[1:]:
            page.get_by_role("tab", name=family).click()
            own = [i for i in INDICATORS if i.family == family]
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length === {len(own)} "
                f"&& document.body.innerText.includes({own[0].label!r})",
                timeout=SLOW,
            )
            wait_idle(page, charts=len(own), timeout=SLOW)
            assert page.locator(".js-plotly-plot").count() == len(own)  # the open tab's charts alone
            assert "Traceback" not in page.inner_text("[data-testid='stMain']")
        screenshot(page, "trends_last_tab")


def test_icon_summary_row_opens_its_chart_with_the_filters_kept(server: str):
    with chromium_page() as page:
        page.goto(server + "/?profession=Doctors")
        wait_idle(page, charts=2, timeout=SLOW)
        screenshot(page, "overview_icon_summary")
        page.get_by_role("link", name="Referral RL, IMGs vs UK graduates").click()
        wait_idle(page, charts=1, timeout=SLOW)
        url = urlsplit(page.url)
        assert url.path == "/trends"
        assert parse_qs(url.query)["show"] == ["rl_img"] and parse_qs(url.query)["profession"] == ["Doctors"]
        assert page.locator(".js-plotly-plot").count() == 1
        assert "Doctors" in page.inner_text("[data-testid='stMain']")


def test_rebase_and_quarters_from_a_link_and_a_png_download(server: str):
    with chromium_page() as page:
        page.goto(server + "/trends?period=Quarter&rebase=2021%2F22+Q1&show=rl_minority")
        wait_idle(page, charts=1, timeout=SLOW)
        screenshot(page, "trends_quarter_rebased")
        assert "Rebased from 2021/22 Q1" in page.inner_text(".js-plotly-plot")
        with page.expect_download(timeout=SLOW) as download:
            page.get_by_role("button", name="Download PNG").click()
        # Issue 15: a download's name carries the split and the filters in words.
        assert download.value.suggested_filename == (
            "trend_rl_minority_quarter_by-ethnic-group_all-professions-2015-16-to-2024-25-all-regions.png"
        )
        assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pack_button_shows_progress_and_downloads_a_protected_pack(server: str):
    with chromium_page() as page:
        page.goto(server + "/trends?show=rl_img")
        wait_idle(page, charts=1, timeout=SLOW)
        page.get_by_role("button", name="Make the meeting pack").click()
        page.locator("[data-testid='stProgress']").first.wait_for(timeout=SLOW)
        page.get_by_text("Meeting pack ready").wait_for(timeout=SLOW)
        wait_idle(page, timeout=SLOW)
        screenshot(page, "trends_pack_ready")
        with page.expect_download(timeout=SLOW) as pptx_download:
            page.get_by_role("button", name="Download PowerPoint").click()
        deck = Presentation(io.BytesIO(Path(pptx_download.value.path()).read_bytes()))
        first = "\n".join(s.text_frame.text for s in deck.slides[0].shapes if s.has_text_frame)
        assert "Viewer level: protected" in first and "Data extract date: 2025-03-31" in first
        assert len(deck.slides) == 2 + len(INDICATORS)
        # A download button reruns the page; until that run ends, its old elements may stand beside the new ones
        # (seen once under load: two "Download PDF" buttons).
        wait_idle(page, timeout=SLOW)
        with page.expect_download(timeout=SLOW) as pdf_download:
            page.get_by_role("button", name="Download PDF").click()
        text = PdfReader(pdf_download.value.path()).pages[0].extract_text()
        assert "Viewer level: protected" in text

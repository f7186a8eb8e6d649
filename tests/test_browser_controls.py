"""Issue 15 in real headless Chromium: Reset, widgets that follow the split, the keyboard route into a drill,
breadcrumb links, page options in the URL, downloads and readable charts.

AppTest does not bind widgets to the URL, so what the link and the boxes show after a change is checked here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import chromium_page, pick, require_browser, screenshot, streamlit_server, wait_idle
from test_browser_accessibility import focused, tab_to

pytestmark = pytest.mark.browser
BLACK = "Black or Black British"


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def box(page, label: str):
    """A select box or multiselect in the page, by its label."""
    return page.locator("[data-testid=stSelectbox], [data-testid=stMultiSelect]").filter(
        has=page.get_by_text(label, exact=True)
    )


def choose(page, label: str, option: str) -> None:
    widget = box(page, label).first
    field = widget.locator("input")
    field.click()
    pick(page, option)
    if widget.get_attribute("data-testid") == "stMultiSelect":
        # A multiselect's list stays open for more: close it once the choice is a chip.
        widget.get_by_text(option, exact=True).first.wait_for()
        page.keyboard.press("Escape")
    else:
        page.wait_for_function("([f, v]) => f.value.trim() === v", arg=[field.element_handle(), option])
    wait_idle(page)


def shown(page, label: str) -> str:
    return box(page, label).first.locator("input").input_value().strip()


def test_reset_clears_values_from_the_link_and_by_hand(server: str):
    with chromium_page() as page:
        page.goto(server + "/concern-rates?profession=Doctors&by=Gender&ref=Female&window=3&drill=Male")
        wait_idle(page, charts=1)
        choose(page, "Region", "London")  # one more, set by hand
        assert query(page).get("region") == ["London"] and query(page).get("window") == ["3"], page.url
        page.get_by_role("button", name="Reset filters").click()
        wait_idle(page, charts=3)
        page.wait_for_timeout(500)
        assert query(page) == {}, page.url
        assert shown(page, "Compare by") == "Ethnic group"
        assert shown(page, "Reference group") == "White"
        assert "London" not in box(page, "Region").inner_text()
        assert "Doctors" not in box(page, "Profession").inner_text()
        assert page.get_by_role("radio", name="1").is_checked()
        main = page.inner_text("[data-testid='stMain']")
        assert "All professions" in main and "all regions" in main
        assert "compared by ethnic group, reference: White" in main
        screenshot(page, "issue15/1_reset_after_browser_test")


def test_widgets_follow_a_new_split_without_a_reload(server: str):
    with chromium_page() as page:
        page.goto(server + "/organisation")
        wait_idle(page, charts=1)
        before = shown(page, "Group on the funnel")
        assert before in page.locator("h1").inner_text()
        choose(page, "Compare by", "Place of primary qualification")
        wait_idle(page, charts=1)
        assert shown(page, "Reference group") == "UK graduate"
        funnel_group = shown(page, "Group on the funnel")
        assert funnel_group in ("UK graduate", "EEA graduate", "International medical graduate (IMG)"), funnel_group
        assert query(page).get("group") in (None, [funnel_group]), page.url
        other = "EEA graduate" if funnel_group != "EEA graduate" else "UK graduate"
        choose(page, "Group on the funnel", other)
        page.wait_for_function(f"location.search.includes('group={other.split()[0]}')", timeout=20_000)
        choose(page, "Compare by", "Ethnic group")
        wait_idle(page, charts=1)
        assert shown(page, "Reference group") == "White"
        assert shown(page, "Group on the funnel") in (
            "White",
            "Mixed or multiple ethnic groups",
            "Asian or Asian British",
            BLACK,
            "Other ethnic group",
        )
        assert query(page).get("group") != [other], page.url
        screenshot(page, "issue15/2_stale_after_browser_test")


def test_keyboard_opens_a_drill_and_the_breadcrumb_leads_back(server: str):
    with chromium_page() as page:
        page.goto(server + "/concern-rates")
        wait_idle(page, charts=3)
        presses = tab_to(page, "Drill into a group", "main")
        pick(page, BLACK)
        wait_idle(page, charts=1)
        assert query(page).get("drill") == [BLACK], page.url
        assert focused(page) is not None or presses
        page.get_by_role("button", name="↩ Concern rates: all groups by ethnic group").click()
        wait_idle(page, charts=3)
        assert "drill" not in query(page), page.url
        assert page.get_by_role("heading", name="Relative likelihood against the reference group").count() == 1


def test_outcomes_measure_is_in_the_link(server: str):
    with chromium_page() as page:
        page.goto(server + f"/outcomes?drill={BLACK.replace(' ', '+')}")
        wait_idle(page, charts=1)
        choose(page, "Measure", "Assessment")
        page.wait_for_function("location.search.includes('measure=Assessment')", timeout=20_000)
        page.reload()
        wait_idle(page, charts=1)
        assert shown(page, "Measure") == "Assessment"


def test_csv_download_is_fit_for_a_board_paper(server: str, tmp_path: Path):
    with chromium_page() as page:
        page.goto(server + "/concern-rates?profession=Doctors&region=London")
        wait_idle(page, charts=3)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").first.click()
        name = download.value.suggested_filename
        assert name.startswith("referral_rates_by_ethnic_group_doctors-") and "london" in name and name.endswith(".csv")
        path = tmp_path / name
        download.value.save_as(path)
        text = path.read_text()
        for line in ("# Filters and period: Doctors", "# Extract date: ", "# Viewer level: ", "# Disclosure:"):
            assert line in text, text[:600]
        assert "Rate 95% CI lower" in text and " to " not in text.split("\n")[-2]


def test_axis_text_is_at_least_12_px(server: str):
    with chromium_page() as page:
        page.goto(server + "/durations")
        wait_idle(page, charts=1)
        sizes = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot .xtick text, .js-plotly-plot .ytick text')]"
            ".map(t => parseFloat(getComputedStyle(t).fontSize))"
        )
        assert sizes and min(sizes) >= 12, sorted(set(sizes))


def test_an_outcomes_drill_continues_to_one_regions_organisations(server: str):
    with chromium_page() as page:
        page.goto(server + f"/outcomes?drill={BLACK.replace(' ', '+')}")
        wait_idle(page, charts=1)
        choose(page, "Drill into the organisations of one region", "London")
        page.wait_for_function("location.pathname === '/organisation'", timeout=20_000)
        wait_idle(page, charts=1)
        assert query(page).get("region") == ["London"], page.url
        main = page.inner_text("[data-testid='stMain']")
        assert "2015/16 to 2024/25, London · compared by ethnic group" in main
        assert BLACK in page.locator("h1").inner_text()

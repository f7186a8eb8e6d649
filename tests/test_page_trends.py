"""The Trends page and the Overview's icon summary in Streamlit's AppTest: defaults, links, the rebase, one
indicator, bad links, and the meeting pack button (with Chromium and without)."""

from __future__ import annotations

import pytest
from apptest import choose_tab, open_page, open_tables, texts

from parity.measures import INDICATORS
from parity.settings import get_settings

PAGE = "pages/trends.py"


def test_trends_defaults(sample_app):
    at = open_page(PAGE)
    assert not at.exception
    assert at.title[0].value == "Trends"
    # One tab per family of indicators, in the indicators' order; the open tab's charts alone are drawn.
    families = list(dict.fromkeys(i.family for i in INDICATORS))
    assert families == [
        "Relative likelihood of referral",
        "Referral rates",
        "Exclusion or suspension",
        "Straight to formal investigation",
    ]
    assert [t.label for t in at.tabs] == families
    assert _charted(at) == [i.label for i in INDICATORS if i.family == families[0]]
    assert len(at.get("plotly_chart")) == 2
    assert len(at.page_link) >= len(INDICATORS)  # the icon summary, one link per indicator (and the sidebar's)
    assert at.radio(key="period").value == "year"
    body = texts(at)
    # The planted fall in the ethnic minority RL: its latest year is special-cause improvement, and its badge says so.
    assert ":blue-badge[:material/thumb_up: Improvement]" in body
    assert "BAME" not in body


def _charted(at) -> list[str]:
    """The indicators whose headings the page shows, in order."""
    labels = {i.label for i in INDICATORS}
    return [s.value for s in at.subheader if s.value in labels]


def test_each_family_tab_draws_its_indicators_and_every_indicator_has_one(sample_app):
    at = open_page(PAGE)
    seen = []
    for family in dict.fromkeys(i.family for i in INDICATORS):
        at = choose_tab(at, "trends_family", family)
        assert not at.exception
        own = [i.label for i in INDICATORS if i.family == family]
        assert _charted(at) == own
        assert len(at.get("plotly_chart")) == len(own)  # every indicator here has values on the sample
        seen += own
    assert seen == [i.label for i in INDICATORS]


def test_trends_opens_on_the_first_family_with_a_value_to_chart(sample_app):
    """One organisation's relative likelihoods are all hidden or too few: the page opens on its referral rates,
    not on a tab of empty charts; the empty tab still says why when chosen."""
    at = open_page(PAGE, org="Juniperholt University Health Board (7W1)")
    assert not at.exception
    rates = [i.label for i in INDICATORS if i.family == "Referral rates"]
    assert _charted(at) == rates and len(at.get("plotly_chart")) >= 1
    at = choose_tab(at, "trends_family", INDICATORS[0].family)
    assert not at.exception
    assert _charted(at) == [i.label for i in INDICATORS if i.family == INDICATORS[0].family]
    assert "No period has a value to chart under these filters" in texts(at)


def test_icon_summary_links_open_one_trend_chart(sample_app):
    at = open_page(PAGE, show="rl_minority", period="Quarter", rebase="2021/22 Q1")
    assert not at.exception
    assert at.radio(key="period").value == "quarter"
    assert at.selectbox(key="rebase").value == "2021/22 Q1"
    assert len(at.get("plotly_chart")) == 1
    assert "Showing one indicator" in texts(at)
    tables = [d.value for d in open_tables(at).dataframe]
    trend = next(t for t in tables if "Signal" in t.columns)
    assert len(trend) == 40 and trend["Mean"].nunique() == 2  # quarters, limits before and from the rebase


def test_bad_links_are_ignored_and_said(sample_app):
    at = open_page(PAGE, show="nonsense", period="Monthly", rebase="1999/00")
    assert not at.exception
    body = texts(at)
    assert "show=nonsense" in body and "period=Monthly" in body and "rebase=1999/00" in body
    assert _charted(at) == [i.label for i in INDICATORS if i.family == INDICATORS[0].family]  # as with no link


def test_overview_opens_with_the_icon_summary(sample_app):
    at = open_page(profession="Doctors")
    assert not at.exception
    assert "Trends at a glance" in [s.value for s in at.subheader]
    links = [p.proto for p in at.page_link if p.proto.icon == ":material/show_chart:"]
    # Each link names its indicator; the filters, bound to the URL, come back by themselves (the browser test).
    expected = [("trends", f"show={i.key}") for i in INDICATORS]
    assert [(link.page, link.query_string) for link in links] == expected
    assert links[0].label == "Referral RL, ethnic minority vs White"


def test_pack_button_makes_a_protected_pack(sample_app):
    at = open_page(PAGE, region="London")
    at.button(key="make_pack").click().run(timeout=600)
    assert not at.exception
    downloads = [d.proto.label for d in at.get("download_button")]
    assert "Download PowerPoint" in downloads and "Download PDF" in downloads
    signature, pptx, pdf, slides = at.session_state["_pack"]
    assert pptx[:2] == b"PK" and pdf[:5] == b"%PDF-" and slides == 2 + len(INDICATORS)


def test_without_chromium_the_pack_button_says_so(sample_app, monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("PARITY_CHROMIUM_PATH", str(tmp_path / "no-chromium"))
    get_settings.cache_clear()
    at = open_page(PAGE, show="rl_img")
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "Chromium is not installed" in warning and "make run" in warning
    assert at.button(key="make_pack").disabled
    png = next(d for d in at.get("download_button") if d.proto.label == "Download PNG")
    assert png.proto.disabled

"""Issue 15 in AppTest: every control does what it says, and titles do not contradict the page.

Reset, stale widgets and keyboard drills are also checked in the real browser
(tests/test_browser_controls.py); here the page's words and the link notes.
"""

from __future__ import annotations

import json
import re

import pytest
from apptest import open_page, texts

from parity import contract

RATES, OVERVIEW, ORGANISATION, OUTCOMES = (
    "pages/concern_rates.py",
    "pages/overview.py",
    "pages/organisation.py",
    "pages/outcomes.py",
)
ONE_ORG = "Juniperhurst and Brackenmoor Hospitals NHS Foundation Trust (R1C)"
EMPTY = {"from": "2024/25", "to": "2024/25", "concern": "Sexual misconduct", "org_type": "Ambulance trust"}


def chart_titles(at) -> list[str]:
    """Each chart's title, its line breaks read as spaces."""
    layouts = [json.loads(element.proto.spec)["layout"] for element in at.get("plotly_chart")]
    return [layout.get("title", {}).get("text", "").replace("<br>", " ") for layout in layouts]


@pytest.fixture(autouse=True)
def _sample(sample_app):
    yield


# --- 1 and 2: Reset and the widgets that depend on the split -------------------------------------


def test_reset_returns_every_filter_split_reference_and_page_option_to_its_default():
    at = open_page(RATES, profession="Doctors", by="Gender", ref="Female", window="3", region="London")
    assert at.selectbox(key="by").value == "gender" and at.radio(key="window").value == 3
    at.button[[b.label for b in at.button].index("Reset filters")].click().run()
    assert not at.exception
    assert at.multiselect(key="profession").value == [] and at.multiselect(key="region").value == []
    assert at.selectbox(key="by").value == "ethnic_group"
    assert at.selectbox(key="ref").value == contract.WHITE
    assert at.radio(key="window").value == 1
    assert "gender" not in texts(at).lower().split("compared by")[1][:40]


def test_a_new_split_sets_the_reference_it_computes_with():
    at = open_page(RATES, ref="Asian or Asian British")
    assert at.selectbox(key="ref").value == "Asian or Asian British"
    at.selectbox(key="by").set_value("pmq_region").run()
    assert not at.exception
    assert at.selectbox(key="ref").value == "UK graduate"
    assert "reference: UK graduate" in texts(at)
    at.selectbox(key="by").set_value("ethnic_group").run()
    assert at.selectbox(key="ref").value == contract.WHITE
    assert "reference: White" in texts(at)


# --- 3: titles that agree with the page -----------------------------------------------------------


def test_no_finding_above_no_cases():
    at = open_page(RATES, **EMPTY)
    assert "No cases match these filters" in texts(at)
    assert at.title[0].value == "Concern rates"
    assert "differs significantly" not in texts(at)


def test_one_group_compared_is_not_one_of_one_groups():
    at = open_page(RATES, by="Ethnic minority vs White")
    assert not at.exception
    titles = chart_titles(at)
    assert any("significantly more often than White practitioners" in t for t in titles), titles
    assert not any("1 of 1 groups" in t for t in titles), titles


def test_doctors_only_view_says_doctors_and_the_heading_rounds_like_the_card():
    at = open_page(RATES, profession="Doctors")
    title = at.title[0].value
    assert "doctors" in title and "practitioners" not in title, title
    assert re.search(r"\d\.\d\d times", title), title  # formats.ratio2, as every card and table
    at = open_page(OVERVIEW, profession="Doctors")
    assert "doctors were referred" in texts(at) and "practitioners were referred" not in texts(at)


def test_pharmacists_are_not_international_medical_graduates():
    at = open_page(RATES, profession="Pharmacists", by="Place of primary qualification")
    assert not at.exception
    words = texts(at)
    assert "international medical graduate" not in words.lower() and "IMG" not in words, words
    assert "outside the UK and EEA" in words
    at = open_page(OVERVIEW, profession="Dentists")
    assert "IMGs vs UK graduates" not in texts(at)


def test_summary_line_leaves_out_a_filter_the_page_does_not_apply():
    at = open_page(RATES, grade="Consultant")
    summary = at.caption[0].value
    assert "consultant" not in summary.lower(), summary
    assert "The grades filter is not applied here" in texts(at)


# --- 8: links the app rewrites ----------------------------------------------------------------------


def test_nonsense_window_gets_the_link_note():
    at = open_page(RATES, window="7")
    notes = [i.value for i in at.info if "Ignored from the link, as not valid choices" in i.value]
    assert notes and "`window=7`" in notes[0], [i.value for i in at.info]


def test_from_after_to_is_said_beside_the_years():
    at = open_page(RATES, **{"from": "2024/25", "to": "2021/22"})
    warnings = [w.value for w in at.sidebar.warning]
    assert warnings and "'From' (2024/25) is after 'To' (2021/22)" in warnings[0], warnings


# --- 4: drill-down ----------------------------------------------------------------------------------


def test_a_drilled_page_counts_its_own_tests_and_flags():
    at = open_page(OUTCOMES, drill=contract.BLACK)
    assert not at.exception
    words = texts(at)
    assert "This page runs" not in words
    found = re.search(
        r"This drilled page shows (\d+) comparisons of Black or Black British practitioners.*?"
        r"\*\*(\d+) (?:is|are) flagged\*\*.*?across all (\d+) comparisons",
        words,
    )
    assert found, words
    own, flagged, family = map(int, found.groups())
    assert flagged <= own < family


def test_the_outcomes_measure_is_in_the_link():
    at = open_page(OUTCOMES, drill=contract.BLACK, measure="Referral to the regulator")
    assert at.selectbox(key="measure").value == "regulator_referral"
    # (That a new choice is written back to the link is checked in the browser: AppTest does not bind the URL.)


def test_a_keyboard_route_into_the_drill():
    at = open_page(RATES)
    box = at.selectbox(key="drill_into_Concern rates")
    assert box.label == "Drill into a group" and box.value is None
    box.set_value(contract.BLACK).run()
    assert not at.exception
    assert "Relative likelihood against the reference group" not in [s.value for s in at.subheader]
    assert any(m.label.startswith(contract.BLACK) or m.label == contract.BLACK for m in at.metric)

"""The employer's view in AppTest (issue 14): every page opens on the employer's own organisation and says whose
view it is; national figures say they are national; a filter that would single out other organisations shows no
figures on any page; the funnel names outliers only in a national view and carries no other organisation's code."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from apptest import open_page, tables, texts

from parity import charts, contract, wording
from parity.measures import ANOTHER_ORGANISATION

OWN = "R1C"
PAGES = [
    "pages/overview.py",
    "pages/concern_rates.py",
    "pages/outcomes.py",
    "pages/durations.py",
    "pages/organisation.py",
    "pages/data.py",
]
FIGURE_PAGES = PAGES[:-1]


@pytest.fixture(scope="module")
def own_name(sample_db: Path) -> str:
    with duckdb.connect(str(sample_db), read_only=True) as con:
        return con.execute("SELECT org_name FROM organisations WHERE org_code = ?", [OWN]).fetchone()[0]


@pytest.fixture
def employer(sample_app, monkeypatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_ORG", OWN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_the_employers_organisation(employer, own_name: str, page: str):
    at = open_page(page)
    assert not at.exception, at.exception
    # (AppTest keeps no sidebar after switching to some pages; where it does, the filter holds the organisation.)
    org_filter = [m for m in at.multiselect if m.key == "org"]
    assert not org_filter or org_filter[0].value == [OWN]
    text = texts(at)
    assert f"Employer view: {own_name}" in text
    if page in FIGURE_PAGES:
        assert f"These are **{own_name}**'s own figures" in text


def test_cleared_organisation_filter_labels_national_figures(employer, own_name: str):
    at = open_page("pages/concern_rates.py", org="")
    assert not at.exception, at.exception
    text = texts(at)
    assert "These are **national figures**" in text and f"Employer view: {own_name}" in text


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_the_isolating_filters_of_the_issue_show_no_figures(employer, own_name: str, page: str):
    at = open_page(page, region="London", org_type="Other organisation", org="")
    assert not at.exception, at.exception
    text = texts(at)
    assert "No figures for these filters" in text and "one organisation other than yours" in text
    assert not at.get("plotly_chart") and not tables(at) and not at.get("download_button")
    assert f"Employer view: {own_name}" in text


def test_a_national_view_is_not_refused(sample_app):
    at = open_page("pages/concern_rates.py", region="London", org_type="Other organisation")
    assert not at.exception, at.exception
    assert "No figures for these filters" not in texts(at) and at.get("plotly_chart")


def test_employer_profile_is_its_own_and_funnel_points_carry_no_code(employer, own_name: str, sample_db: Path):
    at = open_page("pages/organisation.py", by="Ethnic minority vs White")
    assert not at.exception, at.exception
    profile = next(t for t in tables(at) if "Range across organisations" in t.columns)
    assert own_name in profile.columns and "National" in profile.columns
    assert at.title[0].value.startswith(own_name)
    specs = [element.proto.spec for element in at.get("plotly_chart")]
    with duckdb.connect(str(sample_db), read_only=True) as con:
        codes = [c for (c,) in con.execute("SELECT org_code FROM organisations").fetchall()]
    assert not [c for c in codes if c != OWN and f'"{c}"' in "".join(specs)]
    assert "cannot be opened" in texts(at)
    # The links to each indicator's page keep the employer's organisation.
    links = at.get("page_link")
    assert links and all("org=" in link.proto.query_string for link in links)


def test_national_funnel_names_outliers_and_carries_their_codes():
    funnel = pd.DataFrame(
        {
            "org_code": ["A1", "B2", "C3"],
            "org_name": ["Alpha Trust", "Beta Trust", None],
            "label": ["Alpha Trust", "Beta Trust", ANOTHER_ORGANISATION],
            "cases": [50.0, 10.0, 40.0],
            "headcount": [2000.0, 2500.0, 1000.0],
            "rate": [25.0, 4.0, 40.0],
            "significance": ["higher_99.8", "similar", "higher_99.8"],
            "is_selected": [False, False, False],
        }
    )
    limits = pd.DataFrame(
        {
            "headcount": [100.0, 3000.0],
            "lower_95": [0.0, 3.0],
            "upper_95": [12.0, 7.0],
            "lower_998": [0.0, 2.0],
            "upper_998": [15.0, 8.0],
        }
    )
    fig = charts.funnel_chart(funnel, limits, 5.0, "T", "S", label_outliers=True)
    outliers = next(t for t in fig.data if t.name == "Above the 99.8% limit (outlier)")
    assert list(outliers.text) == ["Alpha Trust", ANOTHER_ORGANISATION]
    assert [row[4] for row in outliers.customdata] == ["A1", ""]
    plain = charts.funnel_chart(funnel, limits, 5.0, "T", "S")
    assert next(t for t in plain.data if t.name.startswith("Above the 99.8")).text is None


def test_not_drawn_in_plain_words():
    one = wording.funnel_not_drawn({"hidden": 3, "no_practitioners": 0}, contract.BLACK, 7)
    assert one == (
        "3 organisations are not drawn: they had between 1 and 7 referrals of Black or Black British practitioners: "
        "too few to show without risking identifying someone."
    )
    two = wording.funnel_not_drawn({"hidden": 1, "no_practitioners": 1}, contract.BLACK, 7)
    assert two.startswith("2 organisations are not drawn: 1 organisation had") and "1 organisation has no" in two
    assert wording.funnel_not_drawn({"hidden": 0}, contract.BLACK, 7) is None

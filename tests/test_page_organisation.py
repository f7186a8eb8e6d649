"""Organisation: the page in AppTest (national, one organisation, an employer's scope, empty), its measures on
the sample data (the planted organisation effects), and its figure builders as pure functions."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from apptest import open_page, tables, texts
from streamlit.testing.v1 import AppTest

from parity import charts, contract, wording
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import ANOTHER_ORGANISATION, organisation_view
from parity.tables import funnel_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/organisation.py"
MINORITY = contract.ETHNIC_MINORITY
EFFECTS = {e["id"]: e for e in json.loads((ROOT / "sample_data" / "effects.json").read_text())["effects"]}


@pytest.fixture(scope="module")
def org_names(sample_db: Path) -> dict[str, str]:
    with duckdb.connect(str(sample_db), read_only=True) as con:
        return dict(con.execute("SELECT org_code, org_name FROM organisations").fetchall())


@pytest.fixture
def app(sample_app):
    return functools.partial(open_page, PAGE)


def chart_specs(at: AppTest) -> list[str]:
    return [element.proto.spec for element in at.get("plotly_chart")]


# --- The page in AppTest ---------------------------------------------------------------------


def test_national_view_names_the_outliers_and_asks_for_one_organisation(app):
    at = app(by="Ethnic minority vs White")
    assert not at.exception, at.exception
    title = at.title[0].value
    assert title.endswith(f"above the 99.8% limit for the referral rate of {MINORITY} practitioners"), title
    assert at.selectbox(key="group").value == MINORITY
    assert "Pick one organisation in the sidebar" in texts(at)
    assert "overdispersion" in texts(at)
    funnel = next(t for t in tables(at) if "Against the funnel" in t.columns)
    flagged = set(funnel.loc[funnel["Against the funnel"] == "above the 99.8% limit", "Organisation"])
    assert {EFFECTS["E7b"]["org_name"], EFFECTS["E7c"]["org_name"]} <= flagged
    assert len(chart_specs(at)) == 1


def test_one_organisation_beside_national(app, org_names: dict[str, str]):
    code = "R2W"
    at = app(by="Ethnic minority vs White", org=f"{org_names[code]} ({code})")
    assert not at.exception, at.exception
    text = texts(at)
    assert "Your organisation beside national" in [s.value for s in at.subheader]
    assert f"**{org_names[code]}** had about" in text and "standardised ratio" in text
    assert "Pick one organisation" not in text
    groups = next(t for t in tables(at) if "Standardised ratio (ISR)" in t.columns)
    assert {"National rate per 1,000", "National 95% CI", "Relative likelihood"} <= set(groups.columns)
    assert MINORITY in set(groups["Group"])
    # The funnel still shows every organisation; the chosen one is marked.
    funnel = next(t for t in tables(at) if "Against the funnel" in t.columns)
    assert len(funnel) > 100 and funnel["Organisation"].iloc[0] == f"{org_names[code]} (selected)"
    # The profile's spine chart (issue 14), the funnel and the organisation's rates by group.
    assert len(chart_specs(at)) == 3


def test_employer_sees_only_its_own_organisation_named(sample_app, monkeypatch, org_names: dict[str, str]):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_ORG", "R1C")
    get_settings.cache_clear()
    at = open_page(by="Ethnic minority vs White")  # the router's sidebar: the organisation list
    assert at.multiselect(key="org").options == [f"{org_names['R1C']} (R1C)"]
    at = at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert f"**{org_names['R1C']}** had about" in texts(at)
    others = [name for code, name in org_names.items() if code != "R1C"]
    shown = "\n".join(t.to_csv(index=False) for t in tables(at)) + "\n".join(chart_specs(at)) + texts(at)
    assert not [name for name in others if name in shown]
    assert ANOTHER_ORGANISATION in shown and org_names["R1C"] in shown
    # No organisation code of another organisation either (hover, table or text).
    assert not [code for code in org_names if code != "R1C" and f"({code})" in shown]


def test_empty_result_says_no_cases_match(app):
    at = app(region="Wales", org_type="Acute trust")
    assert not at.exception, at.exception
    assert "No cases match these filters" in texts(at)
    assert not chart_specs(at)


def test_bad_group_in_the_link_is_ignored(app):
    at = app(group="Martians")
    assert not at.exception, at.exception
    assert "`group=Martians`" in texts(at)


# --- Measures on the sample data -------------------------------------------------------------


@pytest.fixture(scope="module")
def minority_view(sample_db: Path):
    with QueryRunner(sample_db) as db:
        return organisation_view(db, Filters(), "ethnic_minority", contract.WHITE, org="R1C")


@pytest.mark.parametrize("effect", ["E7b", "E7c"])
def test_planted_organisation_effects_are_above_the_limits(minority_view, effect: str):
    planted = EFFECTS[effect]
    assert minority_view.group == planted["group"]
    row = minority_view.funnel.set_index("org_code").loc[planted["filters"]["org_code"]]
    assert row["significance"] == "higher_99.8" and row["outlier"]
    assert row["rate"] > row["upper_998"]


def test_funnel_allows_for_overdispersion_and_discloses_counts(minority_view):
    view = minority_view
    assert view.adjusted and view.phi > 1 and view.organisations >= 15
    funnel = view.funnel
    shown = funnel[~funnel["suppressed"]]
    assert (shown["cases"] % 5 == 0).all() and (shown["headcount"] % 5 == 0).all()
    hidden = funnel[funnel["suppressed"]]
    assert hidden["rate"].isna().all() and not hidden["outlier"].any() and hidden["significance"].isna().all()
    # Employers' rows would be unnamed; the national view names everyone.
    assert funnel["org_name"].notna().all()
    assert view.selected_name == EFFECTS["E7a"]["org_name"]
    # E7a's organisation: about 3 times the national rate for ethnic minority practitioners, as planted (its true
    # value falls just outside the 95% interval in this seed: sample_data/README.md).
    row = view.org_groups.set_index("group").loc[MINORITY]
    assert row["isr"] > 2 and row["isr_lower"] > 1
    assert view.isr.lower > 1 and view.observed % 5 == 0 and view.expected > 0


def test_employer_scope_masks_other_names(sample_db: Path):
    with QueryRunner(sample_db) as db:
        view = organisation_view(db, Filters(), "ethnic_minority", contract.WHITE, scope_org="R1C", rule=Rule())
        assert view.selected == "R1C"
        named = view.funnel[view.funnel["org_name"].notna()]
        assert list(named["org_code"]) == ["R1C"]
        assert (view.funnel.loc[view.funnel["org_code"] != "R1C", "label"] == ANOTHER_ORGANISATION).all()
        with pytest.raises(ValueError, match="own organisation"):
            organisation_view(db, Filters(), "ethnic_minority", contract.WHITE, org="R2W", scope_org="R1C")


# --- Figure builders -------------------------------------------------------------------------


def toy_funnel() -> tuple[pd.DataFrame, pd.DataFrame]:
    funnel = pd.DataFrame(
        {
            "label": ["Alpha Trust", ANOTHER_ORGANISATION, ANOTHER_ORGANISATION, ANOTHER_ORGANISATION],
            "cases": [50.0, 10.0, float("nan"), 0.0],
            "headcount": [2000.0, 2500.0, 100.0, 300.0],
            "rate": [25.0, 4.0, float("nan"), 0.0],
            "significance": ["higher_99.8", "similar", None, "lower_95"],
            "is_selected": [True, False, False, False],
        }
    )
    limits = pd.DataFrame(
        {
            "headcount": [100.0, 1000.0, 3000.0],
            "lower_95": [0.0, 2.0, 3.0],
            "upper_95": [12.0, 8.0, 7.0],
            "lower_998": [0.0, 1.0, 2.0],
            "upper_998": [15.0, 10.0, 8.0],
        }
    )
    return funnel, limits


def test_funnel_chart_draws_limits_centre_and_outlier_shapes():
    funnel, limits = toy_funnel()
    fig = charts.funnel_chart(funnel, limits, 5.0, "Title", "Subtitle")
    names = [t.name for t in fig.data]
    limit_traces = [t for t in fig.data if t.name in ("95% limits", "99.8% limits")]
    assert len(limit_traces) == 4 and sum(bool(t.showlegend) for t in limit_traces) == 2
    assert {t.line.dash for t in limit_traces} == {"dot", "dash"}
    centre = next(t for t in fig.data if t.name.startswith("National average"))
    assert list(centre.y) == [5.0, 5.0]
    outlier = next(t for t in fig.data if t.name == "Above the 99.8% limit (outlier)")
    within = next(t for t in fig.data if t.name == "Within the 95% limits")
    assert outlier.marker.symbol != within.marker.symbol and outlier.marker.symbol == "diamond"
    assert "Below the 95% limit" in names and "Selected: Alpha Trust" in names
    ring = next(t for t in fig.data if t.name == "Selected: Alpha Trust")
    assert ring.marker.symbol == "circle-open" and ring.marker.color == charts.REFERENCE_COLOUR
    # The hidden organisation is not drawn; hover names only what the table names.
    drawn = sum(len(t.x) for t in fig.data if t.mode == "markers")
    assert drawn == 3
    hover_labels = {row[0] for t in fig.data if t.customdata is not None for row in t.customdata}
    assert hover_labels == {"Alpha Trust", ANOTHER_ORGANISATION}
    assert fig.layout.yaxis.range[0] == 0


def test_funnel_words_and_table():
    funnel, _ = toy_funnel()
    funnel = funnel.assign(lower_95=1.0, upper_95=9.0, lower_998=0.5, upper_998=12.0)
    assert wording.funnel_title(funnel, MINORITY) == (
        f"1 organisation is above the 99.8% limit for the referral rate of {MINORITY} practitioners"
    )
    assert wording.funnel_title(funnel.iloc[1:], "Asian").startswith("No organisation is above")
    table = funnel_table(funnel)
    assert table["Organisation"].iloc[0] == "Alpha Trust (selected)"
    assert "*" in set(table["Rate per 1,000"]) and "*" in set(table["Against the funnel"])


def test_org_national_chart_draws_both_series_with_intervals(minority_view):
    fig = charts.org_national_chart(minority_view.org_groups, "Alpha Trust", "Title", "Subtitle")
    assert [t.name for t in fig.data] == ["Alpha Trust", "National"]
    assert all(t.error_x.array is not None for t in fig.data)


def test_profile_shows_adjusted_ratios_at_the_full_level_and_says_why_not_otherwise(
    app, monkeypatch, org_names: dict[str, str]
):
    """Issue 13: the profile's adjusted relative likelihoods, from the Overview's model, at the full level; at the
    protected level a reason, not "not yet available"."""
    from parity.settings import get_settings

    code = "R2W"

    def adjusted_rows(at: AppTest) -> pd.DataFrame:
        profile = next(t for t in tables(at) if "Against the rest" in t.columns)
        return profile[profile["Indicator"].str.contains("(adjusted)", regex=False)]

    at = app(by="Ethnic minority vs White", org=f"{org_names[code]} ({code})")
    assert not at.exception
    rows = adjusted_rows(at)
    assert len(rows) == 2
    assert rows["Against the rest"].str.startswith("not shown: shown to analysts at the full level only").all()
    assert not rows["Against the rest"].str.contains("not yet available").any()
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = app(by="Ethnic minority vs White", org=f"{org_names[code]} ({code})")
    assert not at.exception
    rows = adjusted_rows(at)
    assert len(rows) == 2
    assert (rows[org_names[code]] != "*").all() and rows[org_names[code]].str.match(r"^\d+\.\d\d$").all()
    assert rows["National"].str.match(r"^\d+\.\d\d$").all()
    assert (rows["Range across organisations"] == "not computed").all()

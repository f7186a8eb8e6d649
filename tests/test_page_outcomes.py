"""Outcomes: the page in AppTest, ``outcomes_view`` on the sample data (recomputed independently, planted
effects recovered, disclosure), and its figure builders as pure functions."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from apptest import open_page, open_tables, texts
from streamlit.testing.v1 import AppTest

from parity import charts, contract, tables
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import DIVERGENCE_MEASURES, KEY_OUTCOMES, OUTCOME_LABELS, OUTCOME_MEASURES, outcomes_view
from parity.viewer import FULL, PROTECTED

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/outcomes.py"
EFFECTS = json.loads((ROOT / "sample_data" / "effects.json").read_text())["effects"]


# --- The page in AppTest ---------------------------------------------------------------------


@pytest.fixture
def app(sample_app):
    return functools.partial(open_page, PAGE)


def outcome_tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in open_tables(at).dataframe if {"Group", "Measure", "Share 95% CI"} <= set(d.value.columns)]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"profession": "Doctors", "from": "2020/21"},
        {"by": "Place of primary qualification", "region": "London"},
        {"by": "Ethnicity × place of qualification", "grade": "Consultant"},
        {"by": "Ethnic minority vs White", "org_type": "Acute trust", "concern": "Clinical"},
        {"by": "Age band", "to": "2019/20"},
    ],
    ids=[
        "defaults",
        "doctors-since-2020",
        "pmq-london",
        "intersection-consultants",
        "minority-acute-clinical",
        "age-to-2019",
    ],
)
def test_page_runs_with_filters(app, query: dict[str, str]):
    at = app(**query)
    assert not at.exception, at.exception
    body = texts(at)
    assert at.title[0].value.startswith("Outcomes: ")
    for heading in ("Where the path diverges", "Key measures by group", "How closed cases ended"):
        assert heading in body
    assert "Benjamini–Hochberg" in body
    found = outcome_tables(at)
    assert len(found) == 3
    assert set(found[0]["Measure"]) == {OUTCOME_LABELS[m] for m in OUTCOME_MEASURES}
    assert "BAME" not in body
    if query.get("region"):
        assert "counts of 1 to 7 show as *" in body  # the disclosure rule is explained below national level


def test_drill_narrows_the_page_and_breaks_the_group_down(app):
    at = app(drill=contract.BLACK)
    assert not at.exception, at.exception
    body = texts(at)
    assert f"**{contract.BLACK}**" in body  # the breadcrumb
    assert any(b.label == "Clear drill" for b in at.button)
    assert f"{contract.BLACK}: by organisation type, region and concern type" in body
    table = outcome_tables(at)[0]
    assert set(table["Group"]) == {contract.BLACK, "White (reference)"}
    breakdown = next(d.value for d in open_tables(at).dataframe if "Breakdown" in d.value.columns)
    assert set(breakdown["Breakdown"]) == {"Organisation type", "Region", "Concern type"}
    assert set(breakdown["Measure"]) == {OUTCOME_LABELS[m] for m in KEY_OUTCOMES}


def test_clearing_the_drill(app):
    at = app(drill=contract.BLACK)
    next(b for b in at.button if b.label == "Clear drill").click().run()
    assert not at.exception
    assert "drill" not in at.query_params
    assert f"{contract.BLACK}: by organisation type" not in texts(at)


def test_drill_into_the_reference_keeps_every_group(app):
    at = app(drill=contract.WHITE)
    assert not at.exception, at.exception
    assert len(set(outcome_tables(at)[0]["Group"])) > 2


def test_invalid_drill_is_noted_and_ignored(app):
    at = app(drill="Martians")
    assert not at.exception
    assert "drill=Martians" in texts(at)
    assert "by organisation type, region and concern type" not in "\n".join(s.value for s in at.subheader)


def _org_without_cases(db: Path) -> tuple[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """SELECT org_code, org_name FROM organisations
               WHERE org_code NOT IN (SELECT org_code FROM cases WHERE fy_start = 2024
                                      AND list_contains(concern_types, 'sexual_misconduct'))
               ORDER BY org_code LIMIT 1"""
        ).fetchone()


def test_empty_result_says_so(app, sample_db: Path):
    code, name = _org_without_cases(sample_db)
    at = app(org=f"{name} ({code})", concern="Sexual misconduct", **{"from": "2024/25"})
    assert not at.exception, at.exception
    assert "No cases match these filters" in texts(at)
    assert not open_tables(at).dataframe


# --- outcomes_view on the sample data ----------------------------------------------------------


@pytest.fixture(scope="module")
def db(sample_db: Path):
    with QueryRunner(sample_db) as opened:
        yield opened


def _raw(sample_db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with duckdb.connect(str(sample_db), read_only=True) as con:
        cases = con.execute("SELECT case_id, ethnic_group, outcome, closure_date FROM cases").df()
        events = con.execute("SELECT case_id, stage, start_date FROM case_events").df()
    return cases, events


def test_counts_match_an_independent_recomputation(db, sample_db: Path):
    view = outcomes_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL)
    cases, events = _raw(sample_db)
    stages = events.groupby("case_id")["stage"].agg(set)
    first = events.pivot_table(index="case_id", columns="stage", values="start_date", aggfunc="min")
    formal, informal = first["formal_investigation"], first["informal_resolution"]
    skipped = set(first.index[formal.notna() & (informal.isna() | (informal > formal))])
    for group, rows in cases.groupby("ethnic_group"):
        reached = rows["case_id"].map(stages).dropna()
        closed = rows[rows["closure_date"].notna()]
        expected = {
            "exclusion_or_suspension": sum(bool(s & {"exclusion", "suspension"}) for s in reached),
            "formal_without_informal": int(rows["case_id"].isin(skipped).sum()),
            "regulator_referral": sum("regulator_referral" in s for s in reached),
            "dismissed_or_removed": int((closed["outcome"] == "dismissed_or_removed").sum()),
        }
        shown = view.measures[view.measures["group"] == group].set_index("measure")
        for measure, count in expected.items():
            assert shown.loc[measure, "events"] == count, (group, measure)
        assert shown.loc["restriction", "denominator"] == len(rows)
        assert shown.loc["dismissed_or_removed", "denominator"] == len(closed)


def test_every_measure_and_group_is_present_with_intervals(db):
    view = outcomes_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL)
    assert set(view.measures["measure"]) == set(OUTCOME_MEASURES)
    assert (view.measures.groupby("group").size() == len(OUTCOME_MEASURES)).all()
    m = view.measures
    assert ((m["lower"] <= m["proportion"]) & (m["proportion"] <= m["upper"])).all()
    others = m[~m["is_reference"]]
    assert others["p_value"].notna().all() and set(others["test"]) <= {"fisher_exact", "chi_square"}
    assert view.tests == len(others)
    assert view.flagged == int(others["flagged"].eq(True).sum()) > 0
    assert m.loc[m["is_reference"], "flagged"].isna().all()


@pytest.mark.parametrize("effect", [e for e in EFFECTS if e["measure"] == "proportion_rr"], ids=lambda e: e["id"])
@pytest.mark.parametrize("viewer", [FULL, PROTECTED], ids=["full", "protected"])
def test_planted_outcome_effects_are_recovered_and_flagged(db, effect: dict, viewer):
    filters = Filters(
        fy_from=contract.parse_financial_year(effect["years"]["from"]),
        fy_to=contract.parse_financial_year(effect["years"]["to"]),
    )
    view = outcomes_view(db, filters, effect["split"], effect["reference"], viewer=viewer)
    row = view.measures.set_index(["group", "measure"]).loc[(effect["group"], effect["indicator"])]
    assert row["rr_lower"] <= effect["true_value"] <= row["rr_upper"], (effect["id"], row[["rr", "rr_lower"]])
    assert row["lower"] <= effect["group_value"] <= row["upper"]
    assert row["flagged"] is True


def test_planted_effect_is_flagged_on_the_page(app):
    at = app(by="Place of primary qualification")
    table = outcome_tables(at)[0]
    row = table[
        (table["Group"] == "International medical graduate (IMG)") & (table["Measure"] == "Exclusion or suspension")
    ]
    assert row["Judgement"].iloc[0] == "flagged: higher"


def test_below_national_level_counts_are_rounded_or_hidden(db):
    rule = Rule()
    view = outcomes_view(
        db,
        Filters(regions=("London",)),
        "ethnic_category",
        contract.ETHNIC_CATEGORIES["A"],
        viewer=PROTECTED,
        rule=rule,
    )
    m = view.measures
    shown = m["events"].dropna()
    assert (shown % rule.round_to == 0).all()
    hidden = m["events"].isna()
    assert hidden.any(), "some small cells should be hidden in London by detailed ethnic category"
    for column in ("proportion", "lower", "upper", "rr", "p_value"):
        assert m.loc[hidden, column].isna().all()
    assert m.loc[hidden, "flagged"].isna().all()
    assert m.loc[m["suppressed"], "events"].isna().any()


def test_drill_breakdown_is_always_disclosed_for_places(db):
    view = outcomes_view(db, Filters(), "ethnic_group", contract.WHITE, drill=contract.BLACK, viewer=PROTECTED)
    places = view.breakdown[view.breakdown["dimension"].isin(["org_type", "region"])]
    assert (places["events"].dropna() % 5 == 0).all() and (places["denominator"].dropna() % 5 == 0).all()
    assert set(view.breakdown["group"]) == {contract.BLACK, contract.WHITE}
    assert set(view.breakdown["measure"]) == set(KEY_OUTCOMES)
    assert set(view.measures["group"]) == {contract.BLACK, contract.WHITE}
    assert view.tests > len(OUTCOME_MEASURES)  # flags are from the whole family, not the drilled pair


def test_an_unknown_reference_or_drill_is_refused(db):
    with pytest.raises(ValueError, match="cannot be a reference"):
        outcomes_view(db, Filters(), "ethnic_group", contract.NOT_STATED)
    with pytest.raises(ValueError, match="not a group"):
        outcomes_view(db, Filters(), "ethnic_group", contract.WHITE, drill="Martians")


# --- Figure builders -----------------------------------------------------------------------------

GROUPS = (contract.WHITE, contract.ASIAN, contract.BLACK)


def _measures() -> pd.DataFrame:
    rows = []
    for i, group in enumerate(GROUPS):
        for j, measure in enumerate(DIVERGENCE_MEASURES[:3]):
            ref = group == contract.WHITE
            rr = 1.0 if ref else 1.2 + 0.3 * i + 0.1 * j
            rows.append(
                {
                    "group": group,
                    "measure": measure,
                    "label": f"Measure {j}",
                    "kind": "stage",
                    "events": 40 + i,
                    "denominator": 400,
                    "proportion": 0.1 + 0.01 * i,
                    "lower": 0.08 + 0.01 * i,
                    "upper": 0.12 + 0.01 * i,
                    "rr": rr,
                    "rr_lower": math.nan if ref else rr - 0.2,
                    "rr_upper": math.nan if ref else rr + 0.3,
                    "flagged": None if ref else j == 0,
                    "is_reference": ref,
                    "p_value": math.nan if ref else 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_divergence_forest_draws_each_group_with_intervals_and_the_band():
    fig = charts.divergence_forest(_measures(), "Title", "Subtitle", reference=contract.WHITE)
    # The reference is the line at 1; groups are added bottom-up so that the first is drawn on top.
    assert [t.name for t in fig.data] == [contract.BLACK, contract.ASIAN]
    assert fig.layout.legend.traceorder == "reversed"
    for trace in fig.data:
        assert all(row[0] == trace.name for row in trace.customdata)  # the drill reads customdata[0]
        assert np.allclose(trace.error_x.array, [0.3] * 3) and np.allclose(trace.error_x.arrayminus, [0.2] * 3)
        assert not trace.marker.symbol[0].endswith("-open") and trace.marker.symbol[1].endswith("-open")
    assert fig.layout.xaxis.type == "log"
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert band and (band[0].x0, band[0].x1) == charts.BAND
    assert any(s.type == "line" and s.x0 == 1 for s in fig.layout.shapes)
    assert "Title" in fig.layout.title.text and "Subtitle" in fig.layout.title.subtitle.text


def test_divergence_forest_skips_hidden_ratios():
    measures = _measures()
    measures.loc[measures["group"] == contract.BLACK, ["rr", "rr_lower", "rr_upper"]] = math.nan
    fig = charts.divergence_forest(measures, "T", "S", reference=contract.WHITE)
    black = next(t for t in fig.data if t.name == contract.BLACK)
    assert all(x is None or math.isnan(x) for x in black.x)


def test_interval_panels_marks_the_reference_and_flags():
    table = tables.share_panels(_measures().assign(measure=lambda d: d["measure"]), DIVERGENCE_MEASURES[:3])
    fig = charts.interval_panels(table, "T", "S", reference=contract.WHITE, axis_title="Share")
    titles = [a.text for a in fig.layout.annotations if a.text.startswith("Measure")]
    assert titles == ["Measure 0", "Measure 1", "Measure 2"]
    reference = [t for t in fig.data if t.customdata[0][0] == contract.WHITE]
    assert len(reference) == 3 and all(t.marker.symbol == "diamond-open" for t in reference)
    assert sum(1 for s in fig.layout.shapes if s.type == "line" and s.line.dash == "dash") == 3
    asian = [t for t in fig.data if t.customdata[0][0] == contract.ASIAN]
    assert not asian[0].marker.symbol.endswith("-open") and asian[1].marker.symbol.endswith("-open")
    assert all(t.error_x.visible for t in fig.data)
    assert fig.layout.xaxis.tickformat == ".0%"


def test_interval_panels_show_not_reached():
    table = pd.DataFrame(
        {
            "panel": ["Median"] * 2,
            "group": [contract.WHITE, contract.BLACK],
            "value": [3.0, math.inf],
            "lower": [2.5, 4.0],
            "upper": [3.5, math.inf],
            "is_reference": [True, False],
            "flagged": [None, False],
            "detail": ["a", "b"],
        }
    )
    fig = charts.interval_panels(table, "T", "S", reference=contract.WHITE, axis_title="Months", percent=False)
    black = next(t for t in fig.data if t.customdata[0][0] == contract.BLACK)
    assert list(black.text) == ["not reached"] and black.x[0] == fig.layout.xaxis.range[1]


def test_outcome_mix_is_a_full_stack_with_distinct_styles():
    rows = []
    for group in GROUPS:
        for outcome in contract.OUTCOMES:
            rows.append(
                {
                    "group": group,
                    "measure": outcome,
                    "label": contract.OUTCOMES[outcome],
                    "proportion": 1 / 8,
                    "lower": 0.1,
                    "upper": 0.15,
                    "events": 10,
                    "denominator": 80,
                    "is_reference": group == contract.WHITE,
                }
            )
    mix = pd.DataFrame(rows)
    mix.loc[(mix["group"] == contract.BLACK) & (mix["measure"] == "other"), "proportion"] = math.nan
    fig = charts.outcome_mix_chart(mix, "T", "S", reference=contract.WHITE)
    assert fig.layout.barmode == "stack" and len(fig.data) == len(contract.OUTCOMES)
    styles = {(t.marker.color, t.marker.pattern.shape) for t in fig.data}
    assert len(styles) == len(contract.OUTCOMES)
    assert all(t.marker.pattern.fillmode == "overlay" for t in fig.data if t.marker.pattern.shape)
    for trace in fig.data:
        assert [row[0] for row in trace.customdata] == list(GROUPS)
    assert fig.data[0].customdata[0][5] == "10.0% to 15.0%"  # the interval, in the hover
    other = next(t for t in fig.data if t.name == contract.OUTCOMES["other"])
    assert other.text[2] == "" and math.isnan(other.x[2])
    assert list(fig.layout.yaxis.categoryarray)[-1] == "White (reference)"


def test_breakdown_dots_skip_hidden_values():
    table = pd.DataFrame(
        {
            "dimension_label": ["Region"] * 4,
            "level_label": ["London", "London", "Wales", "Wales"],
            "group": [contract.BLACK, contract.WHITE] * 2,
            "value": [0.2, 0.1, math.nan, 0.12],
            "lower": [0.1, 0.05, math.nan, 0.1],
            "upper": [0.3, 0.15, math.nan, 0.14],
            "is_reference": [False, True] * 2,
            "detail": ["a"] * 4,
        }
    )
    fig = charts.breakdown_dots(table, "T", "S", reference=contract.WHITE, axis_title="Share")
    black = next(t for t in fig.data if t.name == contract.BLACK)
    assert black.x[0] == 0.2 and math.isnan(black.x[1])
    assert isinstance(fig, go.Figure) and fig.layout.scattermode == "group"


# --- Issue 13: outcome shares among closed cases, and by a cohort with enough follow-up ------------


def test_followup_cohort_counts_only_cases_referred_long_enough_ago(db: QueryRunner, sample_db: Path):
    view = outcomes_view(db, Filters(), "ethnic_group", None, viewer=FULL, followup_months=12)
    everyone = outcomes_view(db, Filters(), "ethnic_group", None, viewer=FULL)
    assert (view.followup_months, everyone.followup_months) == (12, 0)
    with duckdb.connect(str(sample_db), read_only=True) as con:
        expected = dict(
            con.execute(
                "SELECT ethnic_group, count(*) FROM cases WHERE referral_date <= "
                "(SELECT value::DATE FROM meta WHERE key = 'extract_date') - INTERVAL 12 MONTH GROUP BY 1"
            ).fetchall()
        )
        closed_dismissed = con.execute(
            "SELECT count(*) FILTER (WHERE outcome = 'dismissed_or_removed'), count(*) FILTER (WHERE closure_date "
            "IS NOT NULL) FROM cases WHERE ethnic_group = 'White' AND referral_date <= "
            "(SELECT value::DATE FROM meta WHERE key = 'extract_date') - INTERVAL 12 MONTH"
        ).fetchone()
    assert view.groups.set_index("group")["cases"].to_dict() == expected
    assert view.groups["cases"].sum() < everyone.groups["cases"].sum()
    # A cohort followed for a year has a smaller share still open than every case referred.
    assert (
        view.groups["open"].sum() / view.groups["cases"].sum()
        < everyone.groups["open"].sum() / everyone.groups["cases"].sum()
    )
    white = view.measures[(view.measures["group"] == "White") & (view.measures["measure"] == "dismissed_or_removed")]
    assert (white["events"].iloc[0], white["denominator"].iloc[0]) == closed_dismissed
    with pytest.raises(ValueError, match="followup_months"):
        outcomes_view(db, Filters(), "ethnic_group", None, followup_months=-1)


def test_followup_cohort_is_protected_like_every_count(db: QueryRunner):
    view = outcomes_view(db, Filters(), "ethnic_group", None, viewer=PROTECTED, followup_months=12)
    shown = pd.concat([view.groups[["cases", "closed", "open"]].stack(), view.measures["events"]]).dropna()
    assert len(shown) and (shown.astype(float) % 5 == 0).all()
    # A group whose open cases are hidden hides its closed cases too (the two make its total), and then its
    # outcome shares among closed cases.
    hidden = view.groups[view.groups["open"].isna()]
    assert hidden["closed"].isna().all()
    outcomes = view.measures[view.measures["group"].isin(hidden["group"]) & (view.measures["kind"] == "outcome")]
    assert outcomes["proportion"].isna().all()


def test_page_says_outcomes_are_among_closed_cases_and_offers_a_followed_up_cohort(app):
    at = app()
    assert not at.exception
    assert at.radio(key="followup").value == "all"
    body = texts(at)
    assert "share of **closed cases only**" in body
    assert "These shares are **among closed cases only**" in body
    at = app(followup="12 months")
    assert not at.exception
    body = texts(at)
    assert "Cases referred at least 12 months before the extract date only" in body
    assert "referred at least 12 months before the extract date" in body
    at = app(followup="6 weeks")
    assert not at.exception
    assert "`followup=6 weeks`" in texts(at) and at.radio(key="followup").value == "all"

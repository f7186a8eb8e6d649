"""Durations: the page in AppTest, ``durations_view`` on the sample data (checked against lifelines, planted
effect recovered, censoring, disclosure), and the survival chart as a pure function."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from apptest import chart_blocks, choose_tab, open_page, open_tables, texts
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from streamlit.testing.v1 import AppTest

from parity import charts, contract, tables, wording
from parity.charts.survival import TICKS
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import DAYS_PER_MONTH, DURATION_MEASURES, RISK_TABLE_MONTHS, durations_view
from parity.viewer import FULL, PROTECTED

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/durations.py"
EFFECTS = json.loads((ROOT / "sample_data" / "effects.json").read_text())["effects"]
IMG, UK = contract.PMQ_REGIONS["IMG"], contract.PMQ_REGIONS["UK"]


# --- The page in AppTest ---------------------------------------------------------------------


@pytest.fixture
def app(sample_app):
    return functools.partial(open_page, PAGE)


def table_with(at: AppTest, *columns: str) -> pd.DataFrame:
    return next(d.value for d in open_tables(at).dataframe if set(columns) <= set(d.value.columns))


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"by": "Place of primary qualification", "profession": "Doctors"},
        {"by": "Gender", "region": "North West", "from": "2021/22"},
        {"by": "Ethnicity × place of qualification", "concern": "Behaviour or misconduct"},
        {"by": "UK vs non-UK graduate", "org_type": "Primary care commissioner", "grade": "GP"},
    ],
    ids=["defaults", "pmq-doctors", "gender-north-west", "intersection-behaviour", "uk-vs-non-uk-primary-care"],
)
def test_page_runs_with_filters(app, query: dict[str, str]):
    at = app(**query)
    assert not at.exception, at.exception
    body = texts(at)
    assert at.title[0].value.startswith("Durations: ")
    for heading in (
        "Time from referral to closure",
        "Median durations",
        "Cases still open 6 and 12 months",
        "Exclusion and suspension episodes",
    ):
        assert heading in body
    assert "log-rank" in body and "censored" in body
    medians = table_with(at, "Median", "Median 95% CI", "Log-rank p")
    assert set(medians["Measure"]) <= set(DURATION_MEASURES.values())
    risk = table_with(at, "Months since the start", "At risk")
    assert set(risk["Months since the start"]) <= set(RISK_TABLE_MONTHS)
    if query.get("region"):
        assert "numbers at risk of 1 to 7 are hidden" in body


def test_only_the_open_episode_tab_draws_its_chart(app):
    """The exclusion and suspension curves are tabs: the open one's chart alone is drawn, the other's on opening."""
    at = app()
    assert not at.exception, at.exception
    drawn = chart_blocks(at)
    assert "durations_km_exclusion" in drawn and "durations_km_suspension" not in drawn
    assert len(at.get("plotly_chart")) == 4
    at = choose_tab(at, "durations_episodes", "Suspension")
    assert not at.exception, at.exception
    drawn = chart_blocks(at)
    assert "durations_km_suspension" in drawn and "durations_km_exclusion" not in drawn
    assert len(at.get("plotly_chart")) == 4


def test_where_every_median_is_hidden_a_sentence_stands_in_for_the_empty_chart(app):
    """One small organisation at the protected level (the sample's Juniperholt, 33 cases): every group's median and
    share still open is hidden, and their panels would be empty frames. A sentence says why in their place; the
    data tables, the CSVs and the method notes stay; there is no PNG of a chart not drawn."""
    at = app(org="Juniperholt University Health Board (7W1)")
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    assert wording.nothing_to_chart("median", True) in infos
    assert wording.nothing_to_chart("share still open", True) in infos
    # Both blocks keep their data table, and their CSV; the charts and PNGs are not drawn.
    assert {"durations_medians", "durations_open"} <= set(chart_blocks(at))
    drawn = [c.proto.id for c in at.get("plotly_chart")]
    assert not [i for i in drawn if "durations_medians" in i or "durations_open" in i], drawn
    buttons = [b.proto.id for b in at.get("download_button")]
    for key in ("durations_medians", "durations_open"):
        assert [b for b in buttons if b.endswith(f"{key}_download")], buttons
        assert not [b for b in buttons if b.endswith(f"{key}_png")], buttons
    medians = table_with(open_tables(at), "Median", "Median 95% CI", "Still open at 12 months")
    assert len(medians) > 0
    # The national page draws both charts as before.
    at = app()
    drawn = [c.proto.id for c in at.get("plotly_chart")]
    assert [i for i in drawn if "durations_medians" in i] and [i for i in drawn if "durations_open" in i], drawn
    assert not [i for i in at.info if i.value.startswith("No group's")]


def test_drill_narrows_the_page_and_breaks_the_group_down(app):
    at = app(by="Place of primary qualification", drill=IMG)
    assert not at.exception, at.exception
    body = texts(at)
    assert f"**{IMG}**" in body and any(b.label == "Clear drill" for b in at.button)
    assert f"{IMG}: time to closure by organisation type, region and concern type" in body
    medians = table_with(at, "Median", "Log-rank p")
    assert set(medians["Group"]) == {IMG, "UK graduate (reference)"}
    breakdown = table_with(at, "Breakdown", "Level")
    assert set(breakdown["Breakdown"]) == {"Organisation type", "Region", "Concern type"}


def test_empty_result_says_so(app):
    at = app(
        **{"from": "2024/25"},
        concern="Sexual misconduct",
        region="Crown Dependencies",
        grade="Pharmacist",
        profession="Doctors",
    )
    assert not at.exception, at.exception
    assert "No cases match these filters" in texts(at)


# --- durations_view on the sample data ----------------------------------------------------------


@pytest.fixture(scope="module")
def db(sample_db: Path):
    with QueryRunner(sample_db) as opened:
        yield opened


@pytest.fixture(scope="module")
def raw(sample_db: Path) -> pd.DataFrame:
    """Every case's referral-to-closure time, open ones to the extract date: computed here, not by SQL."""
    with duckdb.connect(str(sample_db), read_only=True) as con:
        extract = pd.Timestamp(con.execute("SELECT value FROM meta WHERE key = 'extract_date'").fetchone()[0])
        cases = con.execute("SELECT pmq_label, referral_date, closure_date FROM cases").df()
    end = pd.to_datetime(cases["closure_date"]).fillna(extract)
    cases["days"] = (end - pd.to_datetime(cases["referral_date"])).dt.days
    cases["closed"] = cases["closure_date"].notna()
    return cases


def test_kaplan_meier_and_log_rank_match_lifelines(db, raw: pd.DataFrame):
    view = durations_view(db, Filters(), "pmq_region", UK, viewer=FULL)
    closure = view.summary[view.summary["measure"] == "closure"].set_index("group")
    for group in (UK, IMG):
        rows = raw[raw["pmq_label"] == group]
        fit = KaplanMeierFitter().fit(rows["days"], rows["closed"])
        assert closure.loc[group, "median"] == fit.median_survival_time_
        assert closure.loc[group, "n"] == len(rows) and closure.loc[group, "censored"] == (~rows["closed"]).sum()
        at_six = fit.survival_function_at_times(6 * DAYS_PER_MONTH).iloc[0]
        assert closure.loc[group, "open_6m"] == pytest.approx(at_six)
    uk = raw[raw["pmq_label"] == UK]
    for group in (IMG, contract.PMQ_REGIONS["EEA"], contract.PMQ_REGIONS["not_known"]):
        other = raw[raw["pmq_label"] == group]
        expected = logrank_test(other["days"], uk["days"], other["closed"], uk["closed"]).p_value
        # stats.logrank takes 1 − cdf (statsmodels), so a p-value below about 1e-16 comes back as 0.
        assert closure.loc[group, "p_value"] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_open_cases_are_censored_never_closed(db, raw: pd.DataFrame):
    view = durations_view(db, Filters(), "pmq_region", UK, viewer=FULL)
    closure = view.summary[view.summary["measure"] == "closure"]
    assert closure["censored"].sum() == (~raw["closed"]).sum() > 0
    assert closure["events"].sum() == raw["closed"].sum()
    curves = view.curves[view.curves["measure"] == "closure"]
    assert curves["censored"].sum() == (~raw["closed"]).sum()
    # A curve only drops at times with closures: censored times alone leave it where it was.
    for _, curve in curves.groupby("group"):
        steps = curve["survival"].diff().fillna(curve["survival"].iloc[0] - 1)
        assert (steps[curve["events"] == 0] == 0).all()


@pytest.mark.parametrize("viewer", [FULL, PROTECTED], ids=["full", "protected"])
def test_planted_duration_effect_is_recovered_and_flagged(db, viewer):
    effect = next(e for e in EFFECTS if e["id"] == "E5")
    filters = Filters(
        fy_from=contract.parse_financial_year(effect["years"]["from"]),
        fy_to=contract.parse_financial_year(effect["years"]["to"]),
    )
    view = durations_view(db, filters, effect["split"], effect["reference"], viewer=viewer)
    closure = view.summary[view.summary["measure"] == "closure"].set_index("group")
    group, reference = closure.loc[effect["group"]], closure.loc[effect["reference"]]
    assert group["median_lower"] <= effect["group_value"] <= group["median_upper"]
    assert reference["median_lower"] <= effect["reference_value"] <= reference["median_upper"]
    if viewer.protected:
        # No log-rank test on protected counts (withheld at this level, wording.LOGRANK_WITHHELD says why): the
        # planted effect is recovered in the medians' intervals, and nothing is flagged or claimed.
        assert view.logrank_withheld and closure["p_value"].isna().all() and closure["flagged"].isna().all()
        assert "not tested at this level" in wording.durations_title(
            view.summary, effect["reference"], tested=not view.logrank_withheld
        )
        return
    assert group["flagged"] is True
    assert wording.durations_title(view.summary, effect["reference"]).startswith(
        "Cases about international medical graduates (IMGs) take longer to close than those about UK graduates"
    )


def test_planted_duration_effect_is_flagged_on_the_page(app, monkeypatch):
    from parity.settings import get_settings

    at = app(by="Place of primary qualification")  # protected: no log-rank test, no flag, and the page says why
    assert "No log-rank tests at the protected level" in texts(at)
    assert "not tested at this level" in at.title[0].value and "take longer" not in at.title[0].value
    assert not [t for t in open_tables(at).dataframe if "flagged" in t.value.astype(str).to_numpy().ravel().tolist()]
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = app(by="Place of primary qualification")
    medians = table_with(at, "Median", "Log-rank p")
    row = medians[(medians["Measure"] == "Referral to closure") & (medians["Group"] == IMG)]
    assert row["Judgement"].iloc[0] == "flagged"
    assert (
        "international medical graduates (IMGs) take longer to close than those about UK graduates" in at.title[0].value
    )


def test_episodes_start_to_end_with_ongoing_ones_censored(db, sample_db: Path):
    view = durations_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL)
    with duckdb.connect(str(sample_db), read_only=True) as con:
        counts = dict(
            con.execute(
                "SELECT stage, count(*) FROM case_events WHERE stage IN ('exclusion', 'suspension') GROUP BY stage"
            ).fetchall()
        )
        ongoing = dict(
            con.execute(
                "SELECT stage, count(*) FROM case_events WHERE stage IN "
                "('exclusion', 'suspension') AND end_date IS NULL GROUP BY stage"
            ).fetchall()
        )
    for stage in ("exclusion", "suspension"):
        rows = view.summary[view.summary["measure"] == stage]
        assert rows["n"].sum() == counts[stage] and rows["censored"].sum() == ongoing.get(stage, 0)
    assert view.tests == int(view.summary["p_value"].notna().sum()) > 0


def test_below_national_level_at_risk_counts_are_hidden_or_rounded(db):
    rule = Rule()
    view = durations_view(db, Filters(regions=("Wales",)), "ethnic_group", contract.WHITE, viewer=PROTECTED, rule=rule)
    at_risk = view.curves["at_risk"]
    # A curve stops before its number at risk would be hidden (issue 9: no curve steps on a hidden count), so
    # every number at risk it shows is a protected one, above the hidden range.
    assert at_risk.notna().all() and (at_risk % rule.round_to == 0).all() and (at_risk > rule.suppress_max).all()
    assert (view.risk_table["at_risk"].dropna() % rule.round_to == 0).all()
    small = view.summary[view.summary["n"].isna()]
    assert small[["median", "open_6m", "p_value"]].isna().all().all()
    assert (view.summary["n"].dropna() % rule.round_to == 0).all()


def test_drill_breakdown(db):
    view = durations_view(db, Filters(), "pmq_region", UK, drill=IMG)
    assert set(view.summary["group"]) == {IMG, UK} and set(view.curves["group"]) == {IMG, UK}
    assert set(view.breakdown["dimension"]) == {"org_type", "region", "concern"}
    assert set(view.breakdown["group"]) == {IMG, UK}
    places = view.breakdown[view.breakdown["dimension"] != "concern"]
    assert (places["n"].dropna() % 5 == 0).all()


# --- The survival chart -------------------------------------------------------------------------


def _curves() -> pd.DataFrame:
    rows = []
    for group, scale in ((contract.WHITE, 100), (contract.BLACK, 150), (contract.ASIAN, 120)):
        days = np.array([0, 30, 60, 90, 180, 365], dtype=float)
        survival = np.exp(-days / scale)
        rows.append(
            pd.DataFrame(
                {
                    "group": group,
                    "days": days,
                    "months": days / DAYS_PER_MONTH,
                    "survival": survival,
                    "lower": survival * 0.9,
                    "upper": np.minimum(survival * 1.1, 1),
                    "at_risk": [100, 80, 60, 40, 20, 5],
                    "events": [0, 10, 10, 10, 10, 10],
                    "censored": [0, 2, 0, math.nan, 1, 0],
                    "is_reference": group == contract.WHITE,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_survival_chart_panels_bands_steps_and_censoring():
    fig = charts.survival_chart(_curves(), "Title", "Subtitle", reference=contract.WHITE)
    panels = [a.text for a in fig.layout.annotations]
    assert panels[:2] == [contract.BLACK, contract.ASIAN]  # one panel per group, each beside the reference
    lines = [t for t in fig.data if t.mode == "lines" and t.meta != TICKS and t.line.width and t.line.width > 0]
    assert len(lines) == 4  # reference + group in each of two panels
    for line in lines:
        assert line.line.shape == "hv" and line.x[0] == 0 and line.y[0] == 1  # steps, starting at 100%
        assert line.legendgroup == line.name.replace(" (reference)", "")  # what a click on the line reads
        assert "%{fullData.name}" in line.hovertemplate and len(line.customdata) == len(line.x) == len(line.text)
    bands = [t for t in fig.data if t.fill == "toself"]  # one closed outline a band
    assert len(bands) == 4 and all(t.hoverinfo == "skip" for t in bands)
    marks = [t for t in fig.data if t.meta == TICKS]
    # One trace a group in each panel where it has ticks: a vertical stroke a tick, broken after each.
    assert {(t.xaxis, t.name) for t in marks} <= {(t.xaxis, t.legendgroup) for t in lines}
    assert len({(t.xaxis, t.name) for t in marks}) == len(marks) >= 2
    for t in marks:
        x, y = np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)
        assert np.isnan(x[2::3]).all() and np.isnan(y[2::3]).all() and (x[0::3] == x[1::3]).all()
        assert (y[1::3] > y[0::3]).all() and t.legendgroup == t.name and "%{fullData.name}" in t.hovertemplate
    black_marks = [x for t in marks if t.name == contract.BLACK for x in np.asarray(t.x, dtype=float)[0::3]]
    # Censored at 30, 90 (a hidden count: still a mark) and 180 days; none where nobody was censored.
    assert np.allclose(black_marks, np.array([30, 90, 180]) / DAYS_PER_MONTH)
    assert any("censored" in (t.name or "") for t in fig.data if t.showlegend is not False)
    assert fig.layout.yaxis.tickformat == ".0%"
    reference_line = next(t for t in lines if t.name.endswith("(reference)"))
    group_line = next(t for t in lines if t.name == contract.BLACK)
    assert reference_line.line.dash == "solid" and group_line.line.dash == "dash"


def test_survival_chart_hover_hides_hidden_at_risk_counts():
    curves = _curves()
    curves.loc[curves["at_risk"] < 8, "at_risk"] = math.nan
    fig = charts.survival_chart(curves, "T", "S", reference=contract.WHITE)
    line = next(t for t in fig.data if t.name == contract.BLACK and t.mode == "lines")
    assert line.text[-1] == "*"


def test_survival_chart_for_the_reference_alone():
    curves = _curves()
    fig = charts.survival_chart(curves[curves["is_reference"]], "T", "S", reference=contract.WHITE)
    assert [a.text for a in fig.layout.annotations][0] == contract.WHITE


def test_tables_and_panels_for_people(db):
    view = durations_view(db, Filters(), "pmq_region", UK, viewer=FULL)
    table = tables.durations_table(view.summary, DURATION_MEASURES)
    assert list(table["Group"]).count("UK graduate (reference)") == 3
    assert table["Median"].str.endswith(("months", "not reached")).all()
    panels = tables.median_panels(view.summary, DURATION_MEASURES)
    assert set(panels["panel"]) == set(DURATION_MEASURES.values())
    closure = view.summary[view.summary["measure"] == "closure"]
    shares = tables.open_share_panels(closure, (6, 12))
    assert ((shares["lower"] <= shares["value"]) & (shares["value"] <= shares["upper"])).all()
    assert wording.months1(math.inf) == "not reached"
    assert wording.median_interval(3 * DAYS_PER_MONTH, math.inf).endswith("not reached")


# --- Issue 13: the log-rank test stratified by referral year ------------------------------------


def test_stratified_tests_equal_statsmodels_survdiff_on_the_cases(db: QueryRunner, sample_db: Path):
    from statsmodels.duration.survfunc import survdiff

    view = durations_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL, stratified=True)
    plain = durations_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL)
    assert view.stratified and not view.stratified_withheld and not plain.stratified
    with duckdb.connect(str(sample_db), read_only=True) as con:
        cases = con.execute(
            "SELECT ethnic_group AS grp, fy_start, closure_date IS NOT NULL AS closed, "
            "greatest(coalesce(closure_date, (SELECT value::DATE FROM meta WHERE key = 'extract_date')) "
            "- referral_date, 0) AS days FROM cases"
        ).df()
    closure = view.summary[view.summary["measure"] == "closure"].set_index("group")
    for group in (contract.BLACK, "Asian or Asian British", "Not known"):
        pair = cases[cases["grp"].isin([group, contract.WHITE])]
        _, p_value = survdiff(
            pair["days"].to_numpy(float),
            pair["closed"].to_numpy(float),
            (pair["grp"] == group).to_numpy(int),
            strata=pair["fy_start"].to_numpy(),
        )
        assert closure.loc[group, "p_value"] == pytest.approx(p_value, rel=1e-9)
    # Stratifying is a different test: its p-values differ from the plain ones.
    unstratified = plain.summary[plain.summary["measure"] == "closure"].set_index("group")["p_value"]
    assert closure.loc[contract.BLACK, "p_value"] != pytest.approx(unstratified[contract.BLACK])
    # Curves and medians do not change; only the tests (and so the flags) do.
    pd.testing.assert_frame_equal(view.curves, plain.curves)


def test_stratified_test_is_withheld_at_the_protected_level(db: QueryRunner):
    view = durations_view(db, Filters(), "ethnic_group", None, viewer=PROTECTED, stratified=True)
    plain = durations_view(db, Filters(), "ethnic_group", None, viewer=PROTECTED)
    assert view.stratified_withheld and not view.stratified
    pd.testing.assert_frame_equal(view.summary, plain.summary)


def test_page_offers_the_stratified_test_and_says_which_ran(app, monkeypatch):
    from parity.settings import get_settings

    at = app(strata="referral year")
    assert not at.exception
    # The default viewer is protected: no log-rank test at all (so none to stratify), and the page says why.
    assert "No log-rank tests at the protected level" in texts(at)
    assert not [r for r in at.radio if r.key == "strata"]
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = app()
    assert at.radio(key="strata").value == "none"
    assert "Tests: **log-rank, not stratified**" in texts(at)
    at = app(strata="referral year")
    assert not at.exception
    body = texts(at)
    assert "**log-rank stratified by financial year of referral**" in body
    assert "stratified log-rank tests against the reference group" in body
    assert at.query_params["strata"] == ["referral year"] or at.query_params["strata"] == "referral year"
    at = app(strata="month")
    assert not at.exception
    assert "`strata=month`" in texts(at) and at.radio(key="strata").value == "none"


def test_stratified_tables_and_titles_name_the_test(app, monkeypatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = app(strata="referral year")
    assert not at.exception
    assert any("Log-rank p, stratified by referral year" in d.value.columns for d in open_tables(at).dataframe)
    assert not any("Log-rank p" in d.value.columns for d in at.dataframe)


def test_survival_title_names_the_stratified_test(db: QueryRunner):
    view = durations_view(db, Filters(), "ethnic_group", contract.WHITE, viewer=FULL, stratified=True)
    closure = view.summary[view.summary["measure"] == "closure"]
    title = wording.survival_title(closure, contract.WHITE, "Referral to closure", "stratified log-rank")
    assert "(stratified log-rank p " in title
    assert "(log-rank p " in wording.survival_title(closure, contract.WHITE, "Referral to closure")


def test_a_click_on_a_survival_curve_or_tick_names_its_group(monkeypatch: pytest.MonkeyPatch):
    """The lines carry numbers in customdata (their interval) and the group as their legendgroup, as the censoring
    ticks do: a click on either drills into that group."""
    import importlib

    drill = importlib.import_module("parity.ui.drill")  # the module: ``parity.ui.drill`` is also a function
    monkeypatch.setattr(drill.state, "seen_selection", lambda key, signature: False)
    fig = charts.survival_chart(_curves(), "T", "S", reference=contract.WHITE)
    line = next(t for t in fig.data if t.name == contract.BLACK and t.mode == "lines")
    point = {"curve_number": 4, "point_index": 2, "customdata": [float(v) for v in line.customdata[2]]}
    assert drill.clicked_group({"selection": {"points": [{**point, "legendgroup": line.legendgroup}]}}, "k") == (
        contract.BLACK
    )
    assert drill.clicked_group({"selection": {"points": [point]}}, "k") is None  # no group: no drill
    ticks = next(t for t in fig.data if t.meta == TICKS)
    tick = {"curve_number": 2, "point_index": 0, "legendgroup": ticks.legendgroup}
    assert drill.clicked_group({"selection": {"points": [tick]}}, "k") == ticks.name

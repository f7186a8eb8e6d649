"""Disclosure attacks (issue 9): every route an outsider tried, at the protected level, on the sample data and on a
hand-made export with known counts. No hidden count comes back exactly, and two routes to one cell agree.

The routes: rate × headcount; a rate interval → headcount; the complement across splits, years, concern types,
the intersection and a group's outcomes (100% minus the other shares); a standardised ratio × its expected count;
funnel limits → practitioner-years; Kaplan–Meier curves of hidden groups, and a shown curve's weeks differenced;
single-year, profession and concern filters at national level; on Pathways, every case's flow less the shown
groups' flows, a node's cases less the shown flows out of it, a step's organisations against the country, and
share × denominator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity import contract, stats
from parity.db import QueryRunner
from parity.disclosure import Rule, nested_groups
from parity.filters import Filters
from parity.measures import (
    concern_rates_view,
    durations_view,
    organisation_view,
    outcomes_view,
    overview_view,
    pathways_view,
    referral_summary,
)
from parity.viewer import FULL, PROTECTED
from tools.testdata import ATTACK_GROUPS, ATTACK_HEADCOUNT, write_attack_export

RULE = Rule()
BLACK, OTHER, MIXED = contract.BLACK, contract.OTHER_ETHNIC, contract.MIXED

# Views that narrow the sample data until small counts appear, by every kind of filter (not only geography).
NARROW = {
    "region": Filters(regions=("Wales",)),
    "profession": Filters(professions=("pharmacist",)),
    "single_year": Filters(fy_from=2019, fy_to=2019, professions=("dentist",)),
    "concern": Filters(concerns=("sexual_misconduct",)),
    "org_type": Filters(org_types=("ambulance_trust",), professions=("doctor",)),
}


@pytest.fixture(scope="module")
def attack_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parity.ingest import ingest

    folder = tmp_path_factory.mktemp("attack_export")
    write_attack_export(folder)
    path = folder / "attack.duckdb"
    assert ingest(folder, path).status == 0
    return path


@pytest.fixture(scope="module")
def sample(sample_db: Path) -> QueryRunner:
    return QueryRunner(sample_db)


@pytest.fixture(scope="module")
def attack(attack_db: Path) -> QueryRunner:
    return QueryRunner(attack_db)


# --- What a protected number may be ------------------------------------------------------------


def shown(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    return array[~np.isnan(array)]


def assert_protected_counts(values: Iterable[float]) -> None:
    """Every count shown is 0 or a multiple of the rounding base above the hidden range: no 1 to 7."""
    for value in shown(values):
        assert value == 0 or (value > RULE.suppress_max and value % RULE.round_to == 0), value


def assert_no_single_hidden_part(table: pd.DataFrame, count: str, parts_of: list[str] | None = None) -> None:
    """Within each whole (rows sharing ``parts_of``), never exactly one hidden non-zero part."""
    groups = table.groupby(parts_of) if parts_of else [((), table)]
    for key, block in groups:
        hidden = block[count].isna() & block["suppressed"]
        assert hidden.sum() != 1, (key, block[["group", count, "suppressed"]])


def rates_from_shown_counts(table: pd.DataFrame) -> None:
    """Rate × headcount gives back the shown (protected) count; the interval is the one of the shown counts."""
    for row in table.itertuples(index=False):
        if pd.isna(row.rate):
            continue
        assert row.rate * row.headcount / 1000 == pytest.approx(row.cases, abs=1e-6)
        if row.cases <= row.headcount and row.headcount > 0:
            lower, upper = stats.rate_interval(int(row.cases), int(row.headcount), per=1000)
            assert (row.rate_lower, row.rate_upper) == pytest.approx((lower, upper))


# --- The hand-made export: counts we know ------------------------------------------------------


def test_the_attack_export_has_the_hidden_counts_it_promises(attack):
    exact = referral_summary(attack, Filters(), "ethnic_group", viewer=FULL).set_index("group")
    assert exact.loc[BLACK, "cases"] == sum(ATTACK_GROUPS[("M", "UK")]) == 3
    assert exact.loc[OTHER, "cases"] == sum(ATTACK_GROUPS[("R", "IMG")]) == 6
    assert exact.loc[BLACK, "headcount"] == 2 * ATTACK_HEADCOUNT[("M", "UK")]


def test_rate_times_headcount_gives_nothing_hidden(attack):
    view = overview_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    table = view.summary.set_index("group")
    for group in (BLACK, OTHER):
        assert math.isnan(table.loc[group, "cases"]) and math.isnan(table.loc[group, "rate"])
        assert math.isnan(table.loc[group, "rate_lower"]) and math.isnan(table.loc[group, "rl"])
    rates_from_shown_counts(view.summary)
    assert_protected_counts(view.summary["cases"])
    assert_protected_counts(view.summary["headcount"])


def test_minority_total_less_the_shown_groups_is_not_a_hidden_group(attack):
    view = overview_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    groups = view.summary.set_index("group")
    minority = view.minority.set_index("group").loc[contract.ETHNIC_MINORITY]
    parts = [MIXED, contract.ASIAN, BLACK, OTHER]
    hidden = [g for g in parts if g in groups.index and math.isnan(groups.loc[g, "cases"])]
    # Either the total is hidden too, or at least two of its parts are: no subtraction isolates one.
    assert math.isnan(minority["cases"]) or len(hidden) >= 2
    # And the headline itself is computed from the protected counts.
    assert_protected_counts([minority["cases"], minority["headcount"]])


def test_one_year_against_the_period_does_not_give_a_hidden_year(attack):
    view = concern_rates_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    trend, summary = view.trend, view.summary.set_index("group")
    for group, rows in trend.groupby("group"):
        hidden = rows["cases"].isna() & rows["suppressed"]
        total_hidden = math.isnan(summary.loc[group, "cases"])
        # Parts and their total: never exactly one unknown among them.
        assert int(hidden.sum()) + int(total_hidden) != 1, (group, rows[["period", "cases"]])
    assert_no_single_hidden_part(trend, "cases", ["fy_start"])
    rates_from_shown_counts(trend)


def test_concern_types_and_the_intersection_give_nothing_back(attack):
    view = concern_rates_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    assert_no_single_hidden_part(view.concerns, "cases", ["concern"])
    summary = view.summary.set_index("group")
    for group, rows in view.concerns.groupby("group"):
        hidden = int((rows["cases"].isna() & rows["suppressed"]).sum()) + int(math.isnan(summary.loc[group, "cases"]))
        assert hidden != 1, group
    crossed = view.intersection
    assert_no_single_hidden_part(crossed, "cases")
    for coarse, fine in nested_groups("ethnic_group", "ethnicity_pmq").items():
        if coarse not in summary.index:
            continue
        parts = crossed[crossed["group"].isin(fine)]
        unknown = int(parts["cases"].isna().sum()) + int(math.isnan(summary.loc[coarse, "cases"]))
        assert unknown != 1, coarse
    for table in (view.summary, view.concerns, view.intersection, view.within_pmq):
        assert_protected_counts(table["cases"])
        rates_from_shown_counts(table)


def test_a_drill_breakdown_does_not_give_back_the_drilled_group(attack):
    view = concern_rates_view(attack, Filters(), "ethnic_group", drill=MIXED, viewer=PROTECTED)
    summary = view.summary.set_index("group")
    for dimension in ("org_type", "region"):
        rows = view.breakdown[(view.breakdown["dimension"] == dimension) & (view.breakdown["group"] == MIXED)]
        unknown = int(rows["cases"].isna().sum()) + int(math.isnan(summary.loc[MIXED, "cases"]))
        assert unknown != 1, dimension
        assert_protected_counts(rows["cases"])


def test_outcome_shares_of_a_group_do_not_add_up_to_a_hidden_one(attack):
    view = outcomes_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    outcomes = view.measures[view.measures["kind"] == "outcome"]
    for group, rows in outcomes.groupby("group"):
        hidden = int((rows["events"].isna() & rows["suppressed"]).sum())
        closed_hidden = int(rows["denominator"].isna().any())
        assert hidden + closed_hidden != 1, (group, rows[["measure", "events"]])
    for row in view.measures.itertuples(index=False):
        if not pd.isna(row.proportion):
            assert row.proportion * row.denominator == pytest.approx(row.events)
    assert_protected_counts(view.measures["events"])
    assert_protected_counts(view.measures["denominator"])
    groups = view.groups
    for row in groups.itertuples(index=False):
        known = [not pd.isna(v) for v in (row.cases, row.closed, row.open)]
        assert sum(known) != 2 or pd.isna(row.cases), row  # closed and open never leave one of three unknown


def test_kaplan_meier_shows_nothing_of_a_hidden_group(attack):
    view = durations_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    summary = view.summary
    hidden = summary[summary["n"].isna()]
    assert not hidden.empty  # Black and Other ethnic group have 3 and 6 cases
    for row in hidden.itertuples(index=False):
        assert math.isnan(row.median) and math.isnan(row.open_12m) and math.isnan(row.p_value)
        assert view.curves[(view.curves["measure"] == row.measure) & (view.curves["group"] == row.group)].empty
    assert_protected_counts(view.curves["at_risk"])
    assert_protected_counts(view.risk_table["at_risk"])
    assert_protected_counts(summary["n"])


def _implied_closures(curve: pd.DataFrame) -> np.ndarray:
    """What an outsider reads off a shown curve: each interval's closures, from the survival either side of it and
    the numbers at risk at its two ends (the actuarial life table solved for its closures), summed from the start."""
    survival, at_risk = curve["survival"].to_numpy(), curve["at_risk"].to_numpy(float)
    share = 1 - survival[1:] / survival[:-1]
    closures = share * (at_risk[:-1] + at_risk[1:]) / (2 - share)
    return np.concatenate(([0.0], np.cumsum(closures)))


@pytest.mark.parametrize("where", ["attack", "sample_wales"])
def test_kaplan_meier_steps_on_protected_cumulative_counts_only(attack, sample, where):
    """The protected curve's route (issue 9): at each week's start, the number at risk and the number closed before
    it. Read back from the curve, each is a function of those cells' protected counts alone (the rule's perturbation
    and rounding), never of an exact count: differencing two shown weeks gives protected arithmetic, not a week's
    exact closures."""
    from scipy.optimize import isotonic_regression

    from parity.disclosure import protect
    from parity.measures.common import QueryLog, run_split_query

    runner, filters = (attack, Filters()) if where == "attack" else (sample, NARROW["region"])
    view = durations_view(runner, filters, "ethnic_group", viewer=PROTECTED)
    rows = run_split_query(QueryLog(runner), "durations_by_group", filters, "ethnic_group", breakdown="none")
    curves = view.curves[view.curves["measure"] == "closure"]
    assert not curves.empty
    for group, curve in curves.groupby("group"):
        exact = rows[rows["grp"] == group]
        days = curve["days"].to_numpy()
        later = [exact[exact["days"] >= d] for d in days]
        closed = [exact[(exact["days"] < d) & exact["closed"]] for d in days]
        shown_at_risk = protect([p["n"].sum() for p in later], [p["n_key"].sum() for p in later], RULE)
        shown_closed = protect([p["n"].sum() for p in closed], [p["n_key"].sum() for p in closed], RULE)
        assert not np.isnan(shown_closed).any() and not np.isnan(shown_at_risk).any(), group  # no hidden cell used
        assert_protected_counts(curve["at_risk"])
        assert curve["at_risk"].tolist() == np.minimum.accumulate(shown_at_risk).tolist(), group
        fitted = isotonic_regression(shown_closed).x
        assert _implied_closures(curve) == pytest.approx(fitted, abs=1e-6), group


def test_standardised_ratio_times_expected_is_the_protected_count(attack):
    view = organisation_view(attack, Filters(), "ethnic_group", org="R1A", viewer=PROTECTED)
    assert view.observed % RULE.round_to == 0
    assert view.isr.value * view.expected == pytest.approx(view.observed)
    for row in view.org_groups.itertuples(index=False):
        if pd.isna(row.cases):
            assert math.isnan(row.isr)
        elif not pd.isna(row.isr):
            assert row.isr * row.expected == pytest.approx(row.cases)
    assert_protected_counts(view.org_groups["cases"])


def _funnel_limits_depend_on_shown_headcount_only(view) -> None:
    # An organisation whose count is hidden: its limits follow from its shown practitioner-years alone (around
    # the comparator's protected rate), so they cannot give its count away.
    funnel = view.funnel[view.funnel["cases"].isna()].dropna(subset=["headcount"])
    for _, same in funnel.groupby("headcount"):
        for limit in ("lower_95", "upper_95", "lower_998", "upper_998"):
            assert same[limit].nunique() <= 1


def test_funnel_limits_pin_only_the_protected_practitioner_years(attack, sample):
    # The referral-rate funnel (issue 13) compares each organisation with the rest of the country, so a shown
    # organisation's limits depend on its own shown count too: every limit is recomputed here from the shown
    # (protected) counts alone.
    for runner, group in ((attack, contract.ASIAN), (sample, BLACK)):
        view = organisation_view(runner, Filters(), "ethnic_group", group=group, viewer=PROTECTED)
        assert_protected_counts(view.funnel["headcount"])
        assert_protected_counts(view.funnel["cases"])
        _funnel_limits_depend_on_shown_headcount_only(view)
        shown = view.funnel.dropna(subset=["cases", "headcount"])
        funnel = stats.rate_funnel(shown["cases"], shown["headcount"])
        expected = dict(zip(shown["org_code"], funnel.expected, strict=True))
        scale = funnel.scale if len(shown) >= 15 else 1.0
        assert view.adjusted == (scale > 1)
        for row in view.funnel.dropna(subset=["headcount"]).itertuples(index=False):
            e = expected.get(row.org_code, view.average / 1000 * row.headcount)
            lower, upper = stats.rate_funnel_limits(e, 0.95, scale)
            assert (row.lower_95, row.upper_95) == pytest.approx(
                (lower / row.headcount * 1000, upper / row.headcount * 1000)
            )
        for row in view.funnel.itertuples(index=False):
            if not pd.isna(row.rate):
                assert row.rate * row.headcount / 1000 == pytest.approx(row.cases)


# --- The sample data, narrowed by every kind of filter -----------------------------------------


@pytest.mark.parametrize("narrow", list(NARROW), ids=list(NARROW))
def test_no_small_count_under_any_filter(sample, narrow):
    filters = NARROW[narrow]
    overview = overview_view(sample, filters, "ethnic_category", viewer=PROTECTED)
    rates = concern_rates_view(sample, filters, "ethnic_group", viewer=PROTECTED)
    outcomes = outcomes_view(sample, filters, "pmq_region", viewer=PROTECTED)
    for table in (
        overview.summary,
        overview.minority,
        overview.graduates,
        rates.summary,
        rates.concerns,
        rates.trend,
        rates.intersection,
    ):
        assert_protected_counts(table["cases"])
        assert_protected_counts(table["headcount"])
        rates_from_shown_counts(table)
        assert_no_single_hidden_part(table, "cases", [c for c in ("concern", "fy_start") if c in table] or None)
    assert_protected_counts(outcomes.measures["events"])
    exact = referral_summary(sample, filters, "ethnic_category", viewer=FULL)
    assert ((exact["cases"] > 0) & (exact["cases"] <= RULE.suppress_max)).any(), "the filter should narrow enough"


def test_ethnic_categories_against_groups_and_minority(sample):
    """Three splits of the same people on one page: categories, and the minority row built from them."""
    view = overview_view(sample, NARROW["region"], "ethnic_category", viewer=PROTECTED)
    categories = view.summary.set_index("group")
    for coarse, fine in nested_groups("ethnic_minority", "ethnic_category").items():
        row = view.minority.set_index("group")
        if coarse not in row.index:
            continue
        present = [f for f in fine if f in categories.index]
        unknown = int(categories.loc[present, "cases"].isna().sum()) + int(math.isnan(row.loc[coarse, "cases"]))
        assert unknown != 1, coarse


def test_two_routes_to_one_cell_agree(sample):
    """The same people reached by different pages, splits and queries get the same protected numbers."""
    filters = NARROW["region"]
    overview = overview_view(sample, filters, "ethnic_group", viewer=PROTECTED)
    rates = concern_rates_view(sample, filters, "ethnic_group", viewer=PROTECTED)
    alone = referral_summary(sample, filters, "ethnic_minority", viewer=PROTECTED).set_index("group")
    a = overview.summary.set_index("group")
    b = rates.summary.set_index("group")
    shown_both = a["cases"].notna() & b["cases"].notna()
    assert (a.loc[shown_both, "cases"] == b.loc[shown_both, "cases"]).all()
    white = overview.minority.set_index("group").loc[contract.WHITE]
    if not math.isnan(white["cases"]) and not math.isnan(a.loc[contract.WHITE, "cases"]):
        assert white["cases"] == a.loc[contract.WHITE, "cases"]
    if not math.isnan(alone.loc[contract.WHITE, "cases"]):
        assert alone.loc[contract.WHITE, "cases"] == a.loc[contract.WHITE, "cases"]
    # One year as a filter and the same year in the trend: the same cell, the same number.
    year = 2020
    single = overview_view(sample, replace(filters, fy_from=year, fy_to=year), "ethnic_group", viewer=PROTECTED)
    in_trend = rates.trend[rates.trend["fy_start"] == year].set_index("group")
    one = single.summary.set_index("group")
    both = one["cases"].notna() & in_trend["cases"].reindex(one.index).notna()
    assert (one.loc[both, "cases"] == in_trend.loc[one.index[both], "cases"]).all()
    assert (one.loc[both, "headcount"] == in_trend.loc[one.index[both], "headcount"]).all()


def test_asking_again_gives_the_same_answer(sample):
    first = outcomes_view(sample, NARROW["region"], "ethnic_group", viewer=PROTECTED)
    second = outcomes_view(sample, NARROW["region"], "ethnic_group", viewer=PROTECTED)
    pd.testing.assert_frame_equal(first.measures, second.measures)


def test_full_level_is_exact(sample):
    """The national body's analysts see the exact counts, narrowed or not."""
    exact = referral_summary(sample, NARROW["region"], "ethnic_category", viewer=FULL)
    assert ((exact["cases"] > 0) & (exact["cases"] <= RULE.suppress_max)).any()
    assert not exact["suppressed"].any()


def test_protection_moves_national_figures_only_by_rounding(sample):
    """Protection must not bias a national figure beyond its rounding."""
    exact = referral_summary(sample, Filters(), "ethnic_group", viewer=FULL).set_index("group")
    protected = referral_summary(sample, Filters(), "ethnic_group", viewer=PROTECTED).set_index("group")
    for group in exact.index:
        gap = abs(protected.loc[group, "cases"] - exact.loc[group, "cases"])
        assert gap <= 2 + RULE.round_to / 2
        assert protected.loc[group, "rate"] == pytest.approx(exact.loc[group, "rate"], rel=0.03)


# --- Pathways (issue 12): the diagram's flows, the transition table and the funnel ----------------------

ALL_CASES = "All cases"


def pathway_hidden_parts(flows: pd.DataFrame, groups: pd.DataFrame) -> list[tuple[str, ...]]:
    """The wholes of the diagram with exactly one hidden non-zero part: a link's groups against every case's link;
    a node's cases (the links into it, or the group's cases for "Referred") against the links out of it."""
    hidden = flows["n"].isna() & flows["suppressed"]
    found = []
    for (source, target), block in flows.assign(hidden=hidden).groupby(["source", "target"]):
        if block["hidden"].sum() == 1:
            found.append(("link", source, target))
    cases = groups.set_index("group")["cases"]
    all_cases = float(flows.loc[(flows["group"] == ALL_CASES) & (flows["source"] == "Referred"), "n"].sum())
    for group, block in flows.assign(hidden=hidden).groupby("group"):
        for node in set(block["source"]):
            out = block[block["source"] == node]
            into = block[block["target"] == node]
            if node == "Referred":
                total_hidden = math.isnan(cases.get(group, all_cases)) if group != ALL_CASES else False
            else:
                total_hidden = bool(into["hidden"].any())
            if not total_hidden and out["hidden"].sum() == 1:
                found.append(("node", group, node))
    return found


def test_pathways_all_cases_less_the_shown_groups_gives_nothing_hidden(attack):
    """Every case's flow beside a group's: no link with one hidden group, no node with one hidden way out."""
    view = pathways_view(attack, Filters(), "ethnic_group", viewer=PROTECTED)
    exact = pathways_view(attack, Filters(), "ethnic_group", viewer=FULL).groups.set_index("group")["cases"]
    assert exact.loc[BLACK] <= RULE.suppress_max and exact.loc[OTHER] <= RULE.suppress_max
    groups = view.groups.set_index("group")
    assert math.isnan(groups.loc[BLACK, "cases"]) and math.isnan(groups.loc[OTHER, "cases"])
    assert pathway_hidden_parts(view.flows, view.groups) == []
    assert_protected_counts(view.flows["n"])
    assert_no_single_hidden_part(view.groups, "cases")


@pytest.mark.parametrize("narrow", list(NARROW), ids=list(NARROW))
def test_pathways_no_small_count_and_no_single_hidden_part(sample, narrow):
    view = pathways_view(sample, NARROW[narrow], "ethnic_group", viewer=PROTECTED)
    assert pathway_hidden_parts(view.flows, view.groups) == []
    for values in (
        view.flows["n"],
        view.groups["cases"],
        view.transitions["events"],
        view.transitions["denominator"],
        view.funnel["cases"],
        view.funnel["headcount"],
    ):
        assert_protected_counts(values)
    # The groups of a step: the events (and the cases at its start) with one hidden group.
    for column in ("events", "denominator"):
        part = view.transitions.assign(suppressed=view.transitions[column].isna())
        assert_no_single_hidden_part(part[part[column].isna() | (part[column] > 0)], column, ["step"])


def test_pathways_share_times_denominator_is_the_protected_count(sample):
    view = pathways_view(sample, NARROW["region"], "ethnic_group", viewer=PROTECTED)
    table = view.transitions
    for row in table.itertuples(index=False):
        if pd.isna(row.share):
            continue
        assert row.share * row.denominator == pytest.approx(row.events)
        lower, upper = stats.wilson_intervals(np.array([row.events]), np.array([row.denominator]))
        assert (row.lower, row.upper) == pytest.approx((lower[0], upper[0]))
    assert table.loc[table["denominator"].isna(), "share"].isna().all()
    flows = view.flows
    cases = view.groups.set_index("group")["cases"]
    for row in flows.itertuples(index=False):
        if pd.isna(row.share) or row.group == ALL_CASES:
            continue
        assert row.share * cases.loc[row.group] == pytest.approx(min(row.n, cases.loc[row.group]))


def test_pathways_funnel_organisations_against_the_country(sample):
    """A step's organisations add up to the country's count: never one hidden organisation."""
    view = pathways_view(sample, Filters(professions=("pharmacist",)), "ethnic_group", viewer=PROTECTED)
    funnel = view.funnel
    for column in ("cases", "headcount"):
        part = funnel.assign(suppressed=funnel[column].isna())
        assert_no_single_hidden_part(part.assign(group=part["org_code"]), column)
    assert_protected_counts(funnel["cases"])
    assert_protected_counts(funnel["headcount"])


def test_pathways_and_outcomes_give_one_cell_one_answer(sample):
    """A group's cases reached through Pathways (all cases followed up) and through Outcomes: one protected number,
    the cell-key perturbation included."""
    filters = NARROW["region"]
    paths = pathways_view(sample, filters, "ethnic_group", followup_months=0, viewer=PROTECTED).groups
    outcomes = outcomes_view(sample, filters, "ethnic_group", viewer=PROTECTED).groups
    a, b = paths.set_index("group")["cases"], outcomes.set_index("group")["cases"]
    both = a.notna() & b.reindex(a.index).notna()
    assert both.sum() >= 3
    assert (a[both] == b.reindex(a.index)[both]).all(), pd.concat([a, b], axis=1)


def test_pathways_full_level_is_exact(sample):
    view = pathways_view(sample, NARROW["region"], "ethnic_group", viewer=FULL)
    assert ((view.groups["cases"] > 0) & (view.groups["cases"] <= RULE.suppress_max)).any()
    assert not view.groups["suppressed"].any() and not view.flows["suppressed"].any()
    assert view.transitions["events"].notna().all()

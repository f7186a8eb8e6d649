"""How long cases stay open, and how long exclusions and suspensions last, by group: Kaplan–Meier curves with
open cases and ongoing episodes censored at the extract date, log-rank tests against the reference group (the
Durations page)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from parity import stats
from parity.disclosure import Rule, protect, protect_table, wholes_by
from parity.filters import Filters
from parity.measures.common import (
    QueryLog,
    RunsQueries,
    checked_reference,
    default_viewer,
    drill_breakdown,
    keep_drilled,
    order_groups,
    run_split_query,
    with_flags,
)
from parity.viewer import Viewer

# Durations: referral to closure, and the length of exclusion and suspension episodes.
DURATION_MEASURES: dict[str, str] = {
    "closure": "Referral to closure",
    "exclusion": "Exclusion episodes",
    "suspension": "Suspension episodes",
}
DAYS_PER_MONTH = 365.25 / 12
OPEN_AT_MONTHS: tuple[int, ...] = (6, 12)
# At the protected level, curves are life tables on a fixed grid of this many days (``_protected_survival``).
LIFE_TABLE_DAYS = 7
# The times of the at-risk table under each Kaplan–Meier chart.
RISK_TABLE_MONTHS: tuple[int, ...] = (0, 3, 6, 9, 12, 18, 24, 36, 48)


@dataclass(frozen=True)
class DurationsView:
    """Every number the Durations page shows, after disclosure control. Times are in days.

    ``summary``: one row per measure (``DURATION_MEASURES``) and group: measure, group, n, events (closed
    cases or ended episodes), censored (still open or ongoing at the extract date), median,
    median_lower, median_upper (``math.inf``: not reached), open_6m, open_6m_lower, open_6m_upper and
    open_12m… (the Kaplan–Meier share still open or ongoing that long after the start; NaN when no one
    was followed that long), p_value (log-rank against the reference), flagged (Benjamini–Hochberg
    across every log-rank test of the view; None where untested or hidden), is_reference, suppressed.
    ``curves``: one row per measure, group and distinct time: measure, group, days, months, survival, lower,
    upper (pointwise), at_risk, events, censored (at that time), is_reference, suppressed (at-risk
    and other counts under the disclosure rule below national level).
    ``risk_table``: the curves at ``RISK_TABLE_MONTHS``: measure, group, months, survival, lower, upper,
    at_risk, is_reference, suppressed.
    ``breakdown``: with a drill, referral to closure for the drilled and reference groups in each
    organisation type, region and concern type: dimension, level, level_label and the columns of
    ``summary`` but the test's. Empty without a drill.
    With a drill, ``summary``, ``curves`` and ``risk_table`` hold the drilled and reference groups only
    (all groups when the drill is the reference).
    ``queries``: the named queries run, in order.
    """

    summary: pd.DataFrame
    curves: pd.DataFrame
    risk_table: pd.DataFrame
    breakdown: pd.DataFrame
    extract_date: str
    reference: str
    drill: str | None
    national: bool
    tests: int
    flagged: int
    queries: tuple[str, ...]
    family: int = 0  # the tests in the flagged family: known groups only
    protected: bool = True
    stratified: bool = False  # log-rank tests stratified by referral year (``STRATA``)
    stratified_withheld: bool = False  # asked for at the protected level, where it is not computed (see the view)
    logrank_withheld: bool = False  # the protected level: no log-rank test at all (see the view)


# What the log-rank test can be stratified by: the financial year of referral (a breakdown of the duration queries).
STRATA = "referral_year"
TEST_NAMES: dict[bool, str] = {
    False: "log-rank test",
    True: "stratified log-rank test",
}


def _grouped(rows: pd.DataFrame, event: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Durations, event flags and counts from (days, event, n) rows: the survival functions' grouped input."""
    return (
        rows["days"].to_numpy(dtype=float),
        rows[event].to_numpy(dtype=float),
        rows["n"].to_numpy(dtype=float),
    )


def _at(times: np.ndarray, values: tuple[float, ...], day: float, last: float) -> float:
    """A Kaplan–Meier step function's value at ``day``; NaN beyond the last follow-up unless it reached 0."""
    if day > last and values[-1] > 0:
        return math.nan
    return float(values[int(np.searchsorted(times, day, side="right")) - 1])


def _survival_rows(
    rows: pd.DataFrame, event: str
) -> tuple[dict, pd.DataFrame, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One group's Kaplan–Meier summary and curve (with numbers at risk) from its (days, event, n) rows,
    and the grouped durations, event flags and counts they were computed from (for the log-rank test)."""
    durations, observed, counts = _grouped(rows, event)
    km = stats.kaplan_meier(durations, observed, weights=counts)
    times = np.asarray(km.times)
    # Closures and censorings on each distinct day (numpy: this runs for every group and block).
    days, position = np.unique(durations, return_inverse=True)
    closed_on = np.bincount(position, weights=observed * counts, minlength=len(days))
    censored_on = np.bincount(position, weights=(1 - observed) * counts, minlength=len(days))
    left_before = np.concatenate(([0.0], np.cumsum(closed_on + censored_on)))
    total = int(counts.sum())
    at_risk = total - left_before[np.searchsorted(days, times, side="left")]
    slot = np.minimum(np.searchsorted(days, times), len(days) - 1)
    on_day = days[slot] == times
    curve = pd.DataFrame(
        {
            "days": times,
            "months": times / DAYS_PER_MONTH,
            "survival": km.survival,
            "lower": km.lower,
            "upper": km.upper,
            "at_risk": at_risk.astype(np.int64),
            "events": np.where(on_day, closed_on[slot], 0).astype(np.int64),
            "censored": np.where(on_day, censored_on[slot], 0).astype(np.int64),
        }
    )
    last = float(durations.max())
    events = int((observed * counts).sum())
    summary = {
        "n": total,
        "events": events,
        "censored": total - events,
        "median": km.median,
        "median_lower": km.median_lower,
        "median_upper": km.median_upper,
    }
    for months in OPEN_AT_MONTHS:
        day = months * DAYS_PER_MONTH
        for suffix, values in (("", km.survival), ("_lower", km.lower), ("_upper", km.upper)):
            summary[f"open_{months}m{suffix}"] = _at(times, values, day, last)
    return summary, curve, (durations, observed, counts)


def _protected_survival(rows: pd.DataFrame, event: str, rule: Rule) -> tuple[dict, pd.DataFrame] | None:
    """A group's durations at the protected level: an actuarial life table on a fixed weekly grid
    (``stats.life_table``), from protected cumulative counts only. None where it has nothing to show.

    At each week's start (day 0, 7, 14, …: the same grid for every group, whatever its counts) two cells are
    protected with their cell keys: the cases still at risk (not closed or censored before that day) and the cases
    closed before that day. Cumulative counts are large where interval counts are small, so they are rarely
    hidden, and the noise of one does not add up along the curve: a week's closures are the difference of two
    neighbouring cumulative counts, and these differences sum back to the last one. Earlier designs pooled weeks
    until their closures passed ``suppress_max``; the pooled counts then crowded just above it (8 to 12, shown as
    10), so closures were overstated and small groups' medians came out a fifth shorter on average (issue 9).

    The curve runs while the number at risk is shown (above ``suppress_max``; where it stops for that reason above
    50%, the median is not known, NaN, rather than not reached) and skips the few early weeks whose
    cumulative closures are hidden (1 to ``suppress_max``: the curve stays at 100% until closures can be shown).
    Rounding can make a shown cumulative count fall from one week to the next; the closures are read from the
    closest non-decreasing fit (isotonic regression, least squares), which keeps each week's closures at 0 or more
    without the upward lean of a running maximum. Numbers at risk are the shown ones, held from rising (a running
    minimum: each is still one of the shown, protected counts). Censored in a week: the fall in the number at
    risk less its closures (it can fall below 0 by rounding; clipping it would lean the curve low, so only the
    censoring ticks are clipped). The median and the shares still open are read by straight lines between the
    middles of the curve's flat stretches (``stats.life_table`` with ``rounded``, ``Survival.read_between``): read at
    the weeks' starts instead, a group of 20 cases had its median a fifth too short, as the count closed first
    shows 10 when 8 have closed.
    """
    days, ended = rows["days"].to_numpy(float), rows[event].to_numpy(bool)
    n, keys = rows["n"].to_numpy(float), rows["n_key"].to_numpy(float)
    week = np.floor(days / LIFE_TABLE_DAYS).astype(np.int64)
    weeks = int(week.max()) + 1 if len(week) else 0
    closed_by = np.concatenate(([0.0], np.cumsum(np.bincount(week, weights=n * ended, minlength=weeks))))
    closed_by_keys = np.concatenate(([0.0], np.cumsum(np.bincount(week, weights=keys * ended, minlength=weeks))))
    left_by = np.concatenate(([0.0], np.cumsum(np.bincount(week, weights=n, minlength=weeks))))
    left_by_keys = np.concatenate(([0.0], np.cumsum(np.bincount(week, weights=keys, minlength=weeks))))
    at_risk = protect(n.sum() - left_by, keys.sum() - left_by_keys, rule)
    closed = protect(closed_by, closed_by_keys, rule)
    # The bounds of the life table: week starts while the number at risk is shown, less those whose closures are hidden.
    running = np.flatnonzero(~(at_risk > 0))
    end = int(running[0]) if len(running) else len(at_risk)
    bound = np.flatnonzero(~np.isnan(closed[:end]))
    if len(bound) < 2:
        return None
    fitted = isotonic_regression(closed[bound]).x
    shown_at_risk = np.minimum.accumulate(at_risk[bound])
    closures = np.minimum(np.diff(fitted), shown_at_risk[:-1])
    censored = shown_at_risk[:-1] - shown_at_risk[1:] - closures
    bounds = (bound * LIFE_TABLE_DAYS).astype(float)
    table = stats.life_table(bounds, shown_at_risk[:-1], closures, censored, rounded=True)
    curve = pd.DataFrame(
        {
            "days": bounds,
            "months": bounds / DAYS_PER_MONTH,
            "survival": table.survival,
            "lower": table.lower,
            "upper": table.upper,
            "at_risk": shown_at_risk,
            "events": np.concatenate(([0.0], closures)),
            "censored": np.concatenate(([0.0], np.maximum(censored, 0))),
        }
    )
    summary = {"median": table.median, "median_lower": table.median_lower, "median_upper": table.median_upper}
    if end < len(at_risk) and np.isnan(at_risk[end]):
        # The curve stops because the number at risk would be hidden, not because everyone followed has left it:
        # whether it falls to 50% among those few is not shown, so a median (or limit) it has not reached by then
        # is not known rather than "not reached" (shown as hidden).
        summary = {k: (math.nan if math.isinf(v) else v) for k, v in summary.items()}
    for months in OPEN_AT_MONTHS:
        read = table.read_between(months * DAYS_PER_MONTH, rounded=True)
        for suffix, value in zip(("", "_lower", "_upper"), read, strict=True):
            summary[f"open_{months}m{suffix}"] = value
    return summary, curve


_SURVIVAL_DERIVED = (
    "median",
    "median_lower",
    "median_upper",
    *(f"open_{m}m{s}" for m in OPEN_AT_MONTHS for s in ("", "_lower", "_upper")),
)


def _survival_by_group(
    rows: pd.DataFrame,
    event: str,
    by: list[str],
    split: str,
    reference: str,
    *,
    test: bool,
    viewer: Viewer,
    rule: Rule,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan–Meier summary and curves per block of ``by`` columns and group, log-rank against the reference.

    At the protected level each group's curve, median and shares come from its protected life table
    (``_protected_survival``; no test), and its counts (n, events, censored) are protected with their cell keys,
    with secondary suppression across the groups of each block; a group with a hidden count has no curve, median,
    share or test.
    """
    summaries, curves = [], []
    if viewer.protected:
        prepared = {key: _protected_survival(part, event, rule) for key, part in rows.groupby([*by, "grp"], sort=False)}
    for keys, block in rows.groupby(by, sort=False) if by else [((), rows)]:
        keys = keys if isinstance(keys, tuple) else (keys,)
        present = block["grp"].unique()
        rank = dict(zip(present, order_groups(pd.Series(present), split), strict=True))
        groups = sorted(present, key=rank.__getitem__)
        where = block.groupby("grp", sort=False).indices  # each group's rows, found once

        # No log-rank test at the protected level (see ``durations_view``): reference arrays at the full level only.
        ref_rows = block[block["grp"] == reference] if test and not viewer.protected else pd.DataFrame()
        ref_arrays = _grouped(ref_rows, event) if len(ref_rows) else None
        for group in groups:
            exact = block.iloc[where.get(group, np.empty(0, dtype=np.intp))]
            n, n_key, ended = (exact[c].to_numpy() for c in ("n", "n_key", event))
            still = ~ended.astype(bool)
            counts = {
                "n": n.sum(),
                "n_key": n_key.sum(),
                "events": (n * ended).sum(),
                "events_key": (n_key * ended).sum(),
                "censored": (n * still).sum(),
                "censored_key": (n_key * still).sum(),
            }
            context = {**dict(zip(by, keys, strict=True)), "group": group}
            if viewer.protected:
                found = prepared[(*keys, group)]
                if found is None:
                    summaries.append({**context, **counts, "p_value": math.nan, "is_reference": group == reference})
                    continue
                (summary, curve), arrays = found, None
            else:
                summary, curve, arrays = _survival_rows(exact, event)
            summary = {**summary, **counts}
            p_value = math.nan
            if ref_arrays is not None and arrays is not None and group != reference:
                (days, ended, weights), (ref_days, ref_ended, ref_weights) = arrays, ref_arrays
                p_value = stats.logrank(
                    days, ended, ref_days, ref_ended, weights_a=weights, weights_b=ref_weights
                ).p_value
            summaries.append({**context, **summary, "p_value": p_value, "is_reference": group == reference})
            curves.append(curve.assign(**context, is_reference=group == reference))
    columns = [*by, "group", "n", "events", "censored", *_SURVIVAL_DERIVED, "p_value", "is_reference"]
    keyed = [*columns, "n_key", "events_key", "censored_key"]
    summary = pd.DataFrame(summaries, columns=keyed)
    exact_sizes = summary["n"].copy()
    blocks = [*by, "measure"] if "measure" in rows else by
    summary = protect_table(
        summary,
        ["n", "events", "censored"],
        protected=viewer.protected,
        rule=rule,
        wholes=wholes_by(summary, [b for b in blocks if b in summary]),
        row_wholes=[("events", "censored", "n")],
    )
    # A group whose size is hidden has no curve, median, share or test (its curve is otherwise built from
    # protected counts only, so a hidden number of events or censored cases alone leaves it).
    hidden = (summary["n"].isna() & (exact_sizes > 0)).to_numpy()
    summary.loc[hidden, [*_SURVIVAL_DERIVED, "p_value"]] = math.nan
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if hidden.any() and not curve.empty:
        gone = summary.loc[hidden, [*by, "group"]].assign(_gone=True)
        curve = curve.merge(gone, on=[*by, "group"], how="left")
        curve = curve[curve["_gone"].isna()].drop(columns="_gone").reset_index(drop=True)
    return summary[columns + ["suppressed"]], curve


def _stratified_p_values(rows: pd.DataFrame, event: str, reference: str) -> dict[str, float]:
    """Each group's log-rank test against the reference stratified by referral year (``rows``: one level per
    year, exact counts: the full level only)."""

    def arrays(group: str) -> tuple[np.ndarray, ...]:
        part = rows[rows["grp"] == group]
        return (*_grouped(part, event), part["level"].to_numpy())

    if reference not in set(rows["grp"]):
        return {}
    ref_days, ref_ended, ref_counts, ref_years = arrays(reference)
    p_values: dict[str, float] = {}
    for group in rows["grp"].unique():
        if group != reference:
            days, ended, counts, years = arrays(group)
            p_values[group] = stats.stratified_logrank(
                days, ended, years, ref_days, ref_ended, ref_years, weights_a=counts, weights_b=ref_counts
            ).p_value
    return p_values


def _risk_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves read at ``RISK_TABLE_MONTHS`` (within each group's follow-up)."""
    rows = []
    for (measure, group), curve in curves.groupby(["measure", "group"], sort=False):
        times = curve["days"].to_numpy()
        survival, lower, upper = (curve[c].to_numpy() for c in ("survival", "lower", "upper"))
        at_risk_column = curve["at_risk"].to_numpy()
        is_reference = bool(curve["is_reference"].iloc[0])
        last = times[-1]
        for months in RISK_TABLE_MONTHS:
            day = months * DAYS_PER_MONTH
            if day > last:
                break
            i = int(np.searchsorted(times, day, side="right")) - 1
            later = np.searchsorted(times, day, side="left")  # at risk just after ``day``: first time at or after it
            at_risk = int(at_risk_column[later]) if later < len(times) else 0
            rows.append(
                {
                    "measure": measure,
                    "group": group,
                    "months": months,
                    "survival": survival[i],
                    "lower": lower[i],
                    "upper": upper[i],
                    "at_risk": at_risk,
                    "is_reference": is_reference,
                }
            )
    return pd.DataFrame(
        rows, columns=["measure", "group", "months", "survival", "lower", "upper", "at_risk", "is_reference"]
    )


def durations_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
    tests: bool = True,
    episodes: bool = True,
    stratified: bool = False,
) -> DurationsView:
    """All the Durations page's numbers for one view: load_meta and two grouped queries (and the first of them
    once per breakdown with a drill).

    Kaplan–Meier curves of referral to closure (open cases censored at the extract date) and of
    exclusion and suspension episodes (ongoing ones censored there), by group; each group's curve is
    compared with the reference's by a log-rank test, and Benjamini–Hochberg controls the false
    discovery rate across all of them. SQL returns distinct (days, status) with counts. At the protected level
    the curves are actuarial life tables on a fixed weekly grid from protected cumulative counts
    (``_protected_survival``).
    Without ``tests`` no log-rank test is run (p-values NaN); without ``episodes`` only referral to closure is
    estimated and exclusions_by_group is not run (the organisation profile needs neither).
    ``stratified``: each log-rank test compares the groups within each financial year of referral and sums over
    the years (``stats.stratified_logrank``), so that a group referred mostly in recent years (less follow-up) is
    not compared with one referred earlier; one more run of each duration query, by referral year. Full level
    only: at the protected level it would have to come from each year's protected life table, and split by year
    the counts are small enough that rounding them decides the answer (on the sample data, exclusions of Black or
    Black British practitioners: p = 0.93 from exact counts, 0.00005 from protected yearly life tables). There
    the unstratified tests stay and ``stratified_withheld`` says why.
    """
    reference = checked_reference(split, reference, drill)
    viewer = default_viewer(viewer)
    rule = rule or Rule()
    log = QueryLog(runner, viewer.org)

    def run(name: str, breakdown: str) -> pd.DataFrame:
        return run_split_query(log, name, filters, split, breakdown=breakdown)

    meta = log.run("load_meta").set_index("key")["value"]
    closures = run("durations_by_group", "none")
    stints = run("exclusions_by_group", "none") if episodes else None
    withheld = stratified and viewer.protected
    # No log-rank test at the protected level (``logrank_withheld`` says so on the page); a test from the exact
    # counts would break the disclosure rule. It was withdrawn on the pooled life tables used before, which made it
    # find differences that are not there. On the weekly life tables of ``_protected_survival`` it has been measured
    # again (``PYTHONPATH=. .venv/bin/python -m tools.logrank_protected``, sample data): of 641 comparisons with the
    # reference, 26 significant at 5% from protected counts and not from exact ones, 45 the other way round (pooled
    # tables: 224 and 70 of 782); with the groups' cases shuffled (no difference), 5.9% significant (exact 5.4%,
    # pooled tables 37%), 7.7% for groups of 30 or fewer. Whether to run it again is the lead's decision (issue 9).
    logrank_withheld = tests and viewer.protected
    tests = tests and not viewer.protected
    stratified = stratified and tests
    yearly: dict[str, pd.DataFrame] = {}
    if stratified:
        yearly["closure"] = run("durations_by_group", STRATA)
        if episodes:
            by_year = run("exclusions_by_group", STRATA)
            for stage in ("exclusion", "suspension"):
                yearly[stage] = by_year[by_year["stage"] == stage]
    summaries, curves = [], []
    for measure, rows, event in (
        ("closure", closures, "closed"),
        *((stage, stints[stints["stage"] == stage], "ended") for stage in ("exclusion", "suspension") if episodes),
    ):
        if rows.empty:
            continue
        summary, curve = _survival_by_group(rows, event, [], split, reference, test=tests, viewer=viewer, rule=rule)
        if stratified:
            p_values = _stratified_p_values(yearly[measure], event, reference)
            tested = summary["p_value"].notna() | (~summary["is_reference"].astype(bool) & summary["n"].notna())
            summary["p_value"] = summary["group"].map(p_values).astype(float).where(tested)
        summaries.append(summary.assign(measure=measure))
        curves.append(curve.assign(measure=measure))
    columns = [
        "measure",
        "group",
        "n",
        "events",
        "censored",
        *_SURVIVAL_DERIVED,
        "p_value",
        "is_reference",
        "suppressed",
    ]
    summary = pd.concat(summaries, ignore_index=True)[columns] if summaries else pd.DataFrame(columns=columns)
    summary = with_flags(summary)
    summary["flagged"] = summary["flagged"].where(summary["p_value"].notna(), None)
    curve_columns = [
        "measure",
        "group",
        "days",
        "months",
        "survival",
        "lower",
        "upper",
        "at_risk",
        "events",
        "censored",
        "is_reference",
    ]
    # A measure whose every group is hidden draws no curve (an empty frame without the curve's columns).
    curves = [c for c in curves if set(curve_columns) <= set(c.columns)]
    curve = pd.concat(curves, ignore_index=True)[curve_columns] if curves else pd.DataFrame(columns=curve_columns)
    breakdown = pd.DataFrame()
    if drill is not None:

        def measure(rows: pd.DataFrame, _: bool) -> pd.DataFrame:
            part, _ = _survival_by_group(
                rows, "closed", ["level"], split, reference, test=False, viewer=viewer, rule=rule
            )
            return part.drop(columns="p_value")

        breakdown = drill_breakdown(
            lambda dimension: run("durations_by_group", dimension),
            measure,
            drill=drill,
            reference=reference,
            filters=filters,
        )
    tests, family = int(summary["p_value"].notna().sum()), int(summary["flagged"].notna().sum())
    summary = keep_drilled(summary, drill, reference)
    curve = keep_drilled(curve, drill, reference)
    curve = curve.assign(suppressed=False)
    risk_table = _risk_table(curve).assign(suppressed=False)
    return DurationsView(
        summary=summary,
        curves=curve,
        risk_table=risk_table,
        breakdown=breakdown,
        extract_date=str(meta.get("extract_date", "")),
        reference=reference,
        drill=drill,
        national=filters.is_national,
        tests=tests,
        flagged=int(summary["flagged"].eq(True).sum()),
        queries=log.names,
        family=family,
        protected=viewer.protected,
        stratified=stratified,
        stratified_withheld=withheld,
        logrank_withheld=logrank_withheld,
    )

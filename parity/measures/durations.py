"""How long cases stay open, and how long exclusions and suspensions last, by group: Kaplan–Meier curves with
open cases and ongoing episodes censored at the extract date, log-rank tests against the reference group (the
Durations page)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity import stats
from parity.disclosure import Rule, disclose
from parity.filters import Filters
from parity.measures.common import (
    QueryLog,
    RunsQueries,
    checked_reference,
    disclose_comparisons,
    drill_breakdown,
    keep_drilled,
    order_groups,
    run_split_query,
    with_flags,
)

# Durations: referral to closure, and the length of exclusion and suspension episodes.
DURATION_MEASURES: dict[str, str] = {
    "closure": "Referral to closure",
    "exclusion": "Exclusion episodes",
    "suspension": "Suspension episodes",
}
DAYS_PER_MONTH = 365.25 / 12
OPEN_AT_MONTHS: tuple[int, ...] = (6, 12)
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


_SURVIVAL_DERIVED = (
    "median",
    "median_lower",
    "median_upper",
    *(f"open_{m}m{s}" for m in OPEN_AT_MONTHS for s in ("", "_lower", "_upper")),
)


def _survival_by_group(
    rows: pd.DataFrame, event: str, by: list[str], split: str, reference: str, *, test: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kaplan–Meier summary and curves per block of ``by`` columns and group, log-rank against the reference."""
    summaries, curves = [], []
    for keys, block in rows.groupby(by, sort=False) if by else [((), rows)]:
        keys = keys if isinstance(keys, tuple) else (keys,)
        groups = sorted(block["grp"].unique(), key=lambda g: order_groups(pd.Series([g]), split).iloc[0])
        ref_rows = block[block["grp"] == reference]
        ref_arrays = _grouped(ref_rows, event) if test and len(ref_rows) else None
        for group in groups:
            g_rows = block[block["grp"] == group]
            summary, curve, arrays = _survival_rows(g_rows, event)
            p_value = math.nan
            if ref_arrays is not None and group != reference:
                (days, ended, counts), (ref_days, ref_ended, ref_counts) = arrays, ref_arrays
                p_value = stats.logrank(
                    days, ended, ref_days, ref_ended, weights_a=counts, weights_b=ref_counts
                ).p_value
            context = {**dict(zip(by, keys, strict=True)), "group": group}
            summaries.append({**context, **summary, "p_value": p_value, "is_reference": group == reference})
            curves.append(curve.assign(**context, is_reference=group == reference))
    columns = [*by, "group", "n", "events", "censored", *_SURVIVAL_DERIVED, "p_value", "is_reference"]
    summary = pd.DataFrame(summaries, columns=columns)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return summary, curve


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


def _disclose_survival(summary: pd.DataFrame, *, national: bool, rule: Rule, within: list[str]) -> pd.DataFrame:
    """Counts under the rule; a group's medians, shares and test blanked when its size is hidden."""
    return disclose_comparisons(
        summary,
        counts=["n", "events", "censored"],
        depends_on={c: ["n"] for c in (*_SURVIVAL_DERIVED, "p_value") if c in summary},
        size="n",
        comparisons=["p_value"],
        national=national,
        rule=rule,
        within=within,
    )


def durations_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    rule: Rule | None = None,
) -> DurationsView:
    """All the Durations page's numbers for one view: load_meta and two grouped queries (and the first of them
    once per breakdown with a drill).

    Kaplan–Meier curves of referral to closure (open cases censored at the extract date) and of
    exclusion and suspension episodes (ongoing ones censored there), by group; each group's curve is
    compared with the reference's by a log-rank test, and Benjamini–Hochberg controls the false
    discovery rate across all of them. SQL returns distinct (days, status) with counts; they are
    expanded to individual durations for ``parity.stats``.
    """
    reference = checked_reference(split, reference, drill)
    rule = rule or Rule()
    national = filters.is_national
    log = QueryLog(runner)

    def run(name: str, breakdown: str) -> pd.DataFrame:
        return run_split_query(log, name, filters, split, breakdown=breakdown)

    meta = log.run("load_meta").set_index("key")["value"]
    closures = run("durations_by_group", "none")
    episodes = run("exclusions_by_group", "none")
    summaries, curves = [], []
    for measure, rows, event in (
        ("closure", closures, "closed"),
        *((stage, episodes[episodes["stage"] == stage], "ended") for stage in ("exclusion", "suspension")),
    ):
        if rows.empty:
            continue
        summary, curve = _survival_by_group(rows, event, [], split, reference, test=True)
        summaries.append(summary.assign(measure=measure))
        curves.append(curve.assign(measure=measure))
    columns = ["measure", "group", "n", "events", "censored", *_SURVIVAL_DERIVED, "p_value", "is_reference"]
    summary = pd.concat(summaries, ignore_index=True)[columns] if summaries else pd.DataFrame(columns=columns)
    summary = with_flags(summary)
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
    curve = pd.concat(curves, ignore_index=True)[curve_columns] if curves else pd.DataFrame(columns=curve_columns)
    breakdown = pd.DataFrame()
    if drill is not None:

        def measure(rows: pd.DataFrame, local: bool) -> pd.DataFrame:
            part, _ = _survival_by_group(rows, "closed", ["level"], split, reference, test=False)
            return _disclose_survival(part.drop(columns="p_value"), national=local, rule=rule, within=["level"])

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
    shown = _disclose_survival(summary, national=national, rule=rule, within=["measure"])
    return DurationsView(
        summary=shown,
        curves=disclose(curve, counts=["at_risk", "events", "censored"], national=national, rule=rule),
        risk_table=disclose(_risk_table(curve), counts=["at_risk"], national=national, rule=rule),
        breakdown=breakdown,
        extract_date=str(meta.get("extract_date", "")),
        reference=reference,
        drill=drill,
        national=national,
        tests=tests,
        flagged=int(shown["flagged"].eq(True).sum()),
        queries=log.names,
        family=family,
    )

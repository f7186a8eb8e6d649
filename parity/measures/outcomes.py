"""What happens to cases once referred: the share of each group's cases reaching each stage of the pathway and
ending in each outcome, against the reference group (the Outcomes page)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity import contract, stats
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

# Two measures built from the stages: either interim measure, and a formal investigation that no
# informal resolution preceded (a route into the formal process that skips the informal one).
COMBINED_STAGES: dict[str, str] = {
    "exclusion_or_suspension": "Exclusion or suspension",
    "formal_without_informal": "Formal investigation without informal resolution first",
}
OUTCOME_LABELS: dict[str, str] = {**contract.STAGES, **COMBINED_STAGES, **contract.OUTCOMES}
# Stages that are disjoint parts of a combined measure (exclusion in secondary care, suspension in primary care):
# shown, but not tested again beside the combined one, so one difference is not counted twice.
NESTED_PARTS: tuple[str, ...] = ("exclusion", "suspension")
# Stages in the order a case moves along the pathway (each combined measure beside its parts), then
# the closed-case outcomes: the rows of the Outcomes page's table, in this order.
STAGE_ORDER: tuple[str, ...] = (
    "informal_resolution",
    "formal_investigation",
    "formal_without_informal",
    "exclusion",
    "suspension",
    "exclusion_or_suspension",
    "restriction",
    "assessment",
    "action_plan",
    "disciplinary_hearing",
    "regulator_referral",
)
OUTCOME_MEASURES: tuple[str, ...] = STAGE_ORDER + tuple(contract.OUTCOMES)
# The measures design §4 names: charted by group, and broken down in a drill.
KEY_OUTCOMES: tuple[str, ...] = (
    "exclusion_or_suspension",
    "formal_without_informal",
    "restriction",
    "assessment",
    "regulator_referral",
    "dismissed_or_removed",
)
# The rows of the "where the path diverges" chart: the pathway (interim measures combined), then the
# outcomes that restrict or end practice.
DIVERGENCE_MEASURES: tuple[str, ...] = (
    *(m for m in STAGE_ORDER if m not in ("exclusion", "suspension")),
    "returned_with_restrictions",
    "formal_sanction",
    "dismissed_or_removed",
)
_MEASURE_RANK = {m: i for i, m in enumerate(OUTCOME_MEASURES)}


@dataclass(frozen=True)
class OutcomesView:
    """Every number the Outcomes page shows, after disclosure control.

    ``groups``: one row per group: group, cases, closed, open, is_reference, suppressed.
    ``measures``: one row per group and measure (``OUTCOME_MEASURES``): group, kind ("stage": among all
    the group's cases; "outcome": among its closed cases), measure, label, events, denominator,
    proportion, lower, upper (Wilson), rr, rr_lower, rr_upper (against the reference), p_value and
    test (Fisher or chi-square), in_band, significant, direction, is_reference, flagged
    (Benjamini–Hochberg across every test of the view; None where untested or hidden), suppressed.
    With a drill, only the drilled and reference groups (all groups when the drill is the reference),
    flagged as in the whole family.
    ``breakdown``: with a drill, the ``KEY_OUTCOMES`` of the drilled and reference groups in each
    organisation type, region and concern type, with the ratio within the level (no tests): dimension,
    level, level_label and the columns of ``measures`` but the test's. Empty without a drill.
    ``queries``: the named queries run, in order.
    """

    groups: pd.DataFrame
    measures: pd.DataFrame
    breakdown: pd.DataFrame
    reference: str
    drill: str | None
    national: bool
    tests: int
    flagged: int
    queries: tuple[str, ...]
    family: int = 0  # the tests in the flagged family: known groups, nested parts counted once


def _group_sizes(counts: pd.DataFrame) -> pd.DataFrame:
    """Cases and closed cases per (level, grp), from the query's 'all' rows."""
    return (
        counts[counts["kind"] == "all"]
        .pivot_table(index=["level", "grp"], columns="measure", values="events", aggfunc="sum", fill_value=0)
        .reindex(columns=["cases", "closed"], fill_value=0)
        .reset_index()
        .rename_axis(columns=None)
    )


def _outcome_grid(counts: pd.DataFrame) -> pd.DataFrame:
    """From the query's rows to one row per (level, grp, measure), zeros included."""
    grid = _group_sizes(counts).merge(pd.DataFrame({"measure": OUTCOME_MEASURES}), how="cross")
    grid["kind"] = np.where(grid["measure"].isin(list(contract.OUTCOMES)), "outcome", "stage")
    grid["denominator"] = np.where(grid["kind"] == "outcome", grid["closed"], grid["cases"])
    found = counts.loc[counts["kind"] != "all", ["level", "grp", "measure", "events"]]
    grid = grid.merge(found, on=["level", "grp", "measure"], how="left")
    grid["events"] = grid["events"].fillna(0).astype(int)
    return grid[["level", "grp", "kind", "measure", "events", "denominator"]]


_PROPORTION_COLUMNS = (
    "level",
    "group",
    "kind",
    "measure",
    "label",
    "events",
    "denominator",
    "proportion",
    "lower",
    "upper",
    "rr",
    "rr_lower",
    "rr_upper",
    "p_value",
    "test",
    "in_band",
    "significant",
    "direction",
    "is_reference",
)


def _compare_proportions(grid: pd.DataFrame, split: str, reference: str, *, test: bool) -> pd.DataFrame:
    """Wilson intervals, and risk ratios (and tests) against the reference group in the same level."""
    ref = grid.loc[grid["grp"] == reference, ["level", "measure", "events", "denominator"]]
    grid = grid.merge(ref, on=["level", "measure"], how="left", suffixes=("", "_ref"))
    grid = grid.assign(_g=order_groups(grid["grp"], split), _m=grid["measure"].map(_MEASURE_RANK))
    grid = grid.sort_values(["level", "_g", "_m"], kind="stable")
    lowers, uppers = stats.wilson_intervals(grid["events"].to_numpy(float), grid["denominator"].to_numpy(float))
    rows = []
    for row, lower, upper in zip(grid.itertuples(index=False), lowers, uppers, strict=True):
        a, n1 = int(row.events), int(row.denominator)
        c, n2 = (0, 0) if pd.isna(row.denominator_ref) else (int(row.events_ref), int(row.denominator_ref))
        is_reference = row.grp == reference
        ratio, judgement, result = stats.Ratio(math.nan, math.nan, math.nan), None, None
        if is_reference:
            ratio = stats.Ratio(1.0, math.nan, math.nan)
        elif n1 > 0 and n2 > 0:
            if test:
                result = stats.compare_proportions(a, n1, c, n2)
            if a > 0 and c > 0:  # with no events on one side the ratio is 0 or infinite: not estimable
                ratio = stats.risk_ratio(a, n1, c, n2)
                judgement = stats.ratio_judgement(ratio)
        rows.append(
            {
                "level": row.level,
                "group": row.grp,
                "kind": row.kind,
                "measure": row.measure,
                "label": OUTCOME_LABELS[row.measure],
                "events": a,
                "denominator": n1,
                "proportion": a / n1 if n1 > 0 else math.nan,
                "lower": lower,
                "upper": upper,
                "rr": ratio.value,
                "rr_lower": ratio.lower,
                "rr_upper": ratio.upper,
                "p_value": result.p_value if result else math.nan,
                "test": result.method if result else "",
                "in_band": judgement.in_band if judgement else None,
                "significant": judgement.significant if judgement else None,
                "direction": judgement.direction if judgement else None,
                "is_reference": is_reference,
            }
        )
    return pd.DataFrame(rows, columns=_PROPORTION_COLUMNS)


def _disclose_proportions(table: pd.DataFrame, *, national: bool, rule: Rule, within: list[str]) -> pd.DataFrame:
    """Counts suppressed or rounded; each proportion, bound, ratio and p-value from a hidden count blanked.

    The denominator counts too: an interval's width would give a hidden denominator away.
    """
    derived = [c for c in ("proportion", "lower", "upper", "rr", "rr_lower", "rr_upper", "p_value") if c in table]
    return disclose_comparisons(
        table,
        counts=["events", "denominator"],
        depends_on={c: ["events", "denominator"] for c in derived},
        size="events",
        comparisons=["rr", "rr_lower", "rr_upper", "p_value"],
        national=national,
        rule=rule,
        within=within,
        ratio="rr",
    )


def outcomes_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    rule: Rule | None = None,
) -> OutcomesView:
    """All the Outcomes page's numbers for one view: one grouped query, three more with a drill.

    Every other group is tested against the reference on every measure (Fisher's exact test where an
    expected count is below 5, else chi-square); Benjamini–Hochberg controls the false discovery rate
    at ``FALSE_DISCOVERY_RATE`` across all those tests, whatever the drill.
    """
    reference = checked_reference(split, reference, drill)
    rule = rule or Rule()
    national = filters.is_national
    log = QueryLog(runner)

    def run(breakdown: str) -> pd.DataFrame:
        return run_split_query(log, "outcomes_by_group", filters, split, breakdown=breakdown)

    counts = run("none")
    measures = _compare_proportions(_outcome_grid(counts), split, reference, test=True).drop(columns="level")
    measures = with_flags(measures, parts=NESTED_PARTS)

    groups = _group_sizes(counts).drop(columns="level").rename(columns={"grp": "group"})
    groups = groups.sort_values("group", key=lambda s: order_groups(s, split), kind="stable", ignore_index=True)
    groups["open"] = groups["cases"] - groups["closed"]
    groups["is_reference"] = groups["group"] == reference
    groups = disclose(groups, counts=["cases", "closed", "open"], national=national, rule=rule)

    shown = _disclose_proportions(measures, national=national, rule=rule, within=["measure"])
    shown = keep_drilled(shown, drill, reference)
    breakdown = pd.DataFrame()
    if drill is not None:

        def key_outcomes(dimension: str) -> pd.DataFrame:
            grid = _outcome_grid(run(dimension))
            return grid[grid["measure"].isin(KEY_OUTCOMES)]

        def measure(grid: pd.DataFrame, local: bool) -> pd.DataFrame:
            part = _compare_proportions(grid, split, reference, test=False).drop(columns=["p_value", "test"])
            return _disclose_proportions(part, national=local, rule=rule, within=["level", "measure"])

        breakdown = drill_breakdown(key_outcomes, measure, drill=drill, reference=reference, filters=filters)
    return OutcomesView(
        groups=groups,
        measures=shown,
        breakdown=breakdown,
        reference=reference,
        drill=drill,
        national=national,
        tests=int(measures["p_value"].notna().sum()),
        family=int(measures["flagged"].notna().sum()),
        flagged=int(shown["flagged"].eq(True).sum()),
        queries=log.names,
    )

"""What happens to cases once referred: the share of each group's cases reaching each stage of the pathway and
ending in each outcome, against the reference group (the Outcomes page)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule, protect_table
from parity.filters import Filters
from parity.measures.common import (
    BREAKDOWNS,
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
    protected: bool = True
    followup_months: int = 0  # only cases referred at least this long before the extract date (0: every case)


_SIZES = ("cases", "closed", "open")
_INTERIM = ("exclusion", "suspension", "exclusion_or_suspension")


def _cells(counts: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The query's rows as one cell per (level, grp, measure) with its count ``n`` and cell key: the groups' sizes
    (measures cases, closed and open: open is cases less closed, its key theirs less closed's) and every stage
    and outcome counted."""
    sizes = (
        counts[counts["kind"] == "all"]
        .pivot_table(
            index=["level", "grp"], columns="measure", values=["events", "events_key"], aggfunc="sum", fill_value=0
        )
        .reindex(columns=pd.MultiIndex.from_product([["events", "events_key"], ["cases", "closed"]]), fill_value=0)
    )
    sizes.columns = [m if v == "events" else f"{m}_key" for v, m in sizes.columns]
    sizes = sizes.reset_index()
    sizes["open"] = sizes["cases"] - sizes["closed"]
    sizes["open_key"] = sizes["cases_key"] - sizes["closed_key"]
    parts = [
        sizes[["level", "grp", m, f"{m}_key"]].rename(columns={m: "n", f"{m}_key": "n_key"}).assign(measure=m)
        for m in _SIZES
    ]
    events = counts.loc[counts["kind"] != "all", ["level", "grp", "measure", "events", "events_key"]]
    parts.append(events.rename(columns={"events": "n", "events_key": "n_key"}))
    return pd.concat(parts, ignore_index=True).assign(dimension=dimension)


def _protect_cells(cells: pd.DataFrame, viewer: Viewer, rule: Rule) -> pd.DataFrame:
    """Every cell of the view under the rule, with secondary suppression over each whole a reader could add up:
    the groups of a level and measure (main view only: a drill shows two groups); each group's closed outcomes
    and its closed cases; its closed and open cases and all its cases; its exclusions, suspensions and either;
    and a drill's levels of a group and measure with the group's figure in the main view."""
    cells = cells.reset_index(drop=True)
    # The index is 0..n-1: a row's label is its position.

    def position(labels: pd.Index) -> np.ndarray:
        return np.asarray(labels, dtype=np.int64)

    wholes: list[np.ndarray] = []
    keep = np.zeros(len(cells), dtype=bool)
    main = cells["dimension"] == "none"
    for _, idx in cells[main].groupby(["level", "measure"]).groups.items():
        wholes.append(position(idx))
    for _, block in cells.groupby(["dimension", "level", "grp"]):
        rows, names = position(block.index), block["measure"].to_numpy()
        for members, total in (
            ((*contract.OUTCOMES, "closed"), "closed"),
            (_SIZES, "cases"),
            (_INTERIM, "exclusion_or_suspension"),
        ):
            inside = np.isin(names, members)
            wholes.append(rows[inside])
            keep[rows[inside & (names == total)]] = True
    drilled = cells[~main]
    for (grp, measure), block in drilled.groupby(["grp", "measure"]):
        for _, levels in block.groupby("dimension"):
            top = cells.index[main & (cells["grp"] == grp) & (cells["measure"] == measure)]
            keep[position(top)] = True
            wholes.append(np.concatenate([position(levels.index), position(top)]))
    shown = protect_table(cells, ["n"], protected=viewer.protected, rule=rule, wholes=wholes, keep=keep)
    return shown


def _outcome_grid(cells: pd.DataFrame) -> pd.DataFrame:
    """From the viewer's cells of one dimension to one row per (level, grp, measure), zeros included, each
    measure with its denominator (all the group's cases for a stage, its closed cases for an outcome). A
    protected count is never shown above its protected denominator."""
    sizes = cells[cells["measure"].isin(_SIZES)].pivot_table(
        index=["level", "grp"], columns="measure", values="n", aggfunc="first", dropna=False
    )
    sizes = sizes.reindex(columns=list(_SIZES)).reset_index().rename_axis(columns=None)
    grid = sizes[["level", "grp", "cases", "closed"]].merge(pd.DataFrame({"measure": OUTCOME_MEASURES}), how="cross")
    grid["kind"] = np.where(grid["measure"].isin(list(contract.OUTCOMES)), "outcome", "stage")
    grid["denominator"] = np.where(grid["kind"] == "outcome", grid["closed"], grid["cases"])
    found = cells.loc[~cells["measure"].isin(_SIZES), ["level", "grp", "measure", "n", "suppressed"]]
    grid = grid.merge(found.rename(columns={"n": "events"}), on=["level", "grp", "measure"], how="left")
    absent = grid["suppressed"].isna()
    grid["events"] = grid["events"].where(~absent, 0.0)
    grid["events"] = np.fmin(grid["events"], grid["denominator"]).where(grid["events"].notna())
    grid["suppressed"] = grid["suppressed"].astype("boolean").fillna(False).astype(bool) | grid["denominator"].isna()
    return grid[["level", "grp", "kind", "measure", "events", "denominator", "suppressed"]]


def _group_sizes(cells: pd.DataFrame) -> pd.DataFrame:
    """Cases, closed and open cases per group (main view), with ``suppressed`` where one of them is hidden."""
    rows = cells[(cells["dimension"] == "none") & cells["measure"].isin(_SIZES)]
    table = rows.pivot_table(index="grp", columns="measure", values="n", aggfunc="first", dropna=False)
    table = table.reindex(columns=list(_SIZES)).reset_index().rename_axis(columns=None)
    hidden = rows.groupby("grp")["suppressed"].any()
    table["suppressed"] = table["grp"].map(hidden).fillna(False).astype(bool)
    return table.rename(columns={"grp": "group"})


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
    "suppressed",
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
        a, n1 = float(row.events), float(row.denominator)
        c, n2 = (0.0, 0.0) if pd.isna(row.denominator_ref) else (float(row.events_ref), float(row.denominator_ref))
        known = not any(math.isnan(x) for x in (a, n1, c, n2))
        is_reference = row.grp == reference
        ratio, judgement, result = stats.Ratio(math.nan, math.nan, math.nan), None, None
        if is_reference and not math.isnan(a) and not math.isnan(n1):
            ratio = stats.Ratio(1.0, math.nan, math.nan)
        elif known and n1 > 0 and n2 > 0:
            if test:
                result = stats.compare_proportions(int(a), int(n1), int(c), int(n2))
            if a > 0 and c > 0:  # with no events on one side the ratio is 0 or infinite: not estimable
                ratio = stats.risk_ratio(int(a), int(n1), int(c), int(n2))
                judgement = stats.ratio_judgement(ratio)
        rows.append(
            {
                "level": row.level,
                "group": row.grp,
                "kind": row.kind,
                "measure": row.measure,
                "label": OUTCOME_LABELS[row.measure],
                "events": a if math.isnan(a) else int(a),
                "denominator": n1 if math.isnan(n1) else int(n1),
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
                "suppressed": bool(row.suppressed),
            }
        )
    return pd.DataFrame(rows, columns=_PROPORTION_COLUMNS)


def outcomes_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
    tests: bool = True,
    followup_months: int = 0,
) -> OutcomesView:
    """All the Outcomes page's numbers for one view: one grouped query, three more with a drill.

    Every other group is tested against the reference on every measure (Fisher's exact test where an
    expected count is below 5, else chi-square); Benjamini–Hochberg controls the false discovery rate
    at ``FALSE_DISCOVERY_RATE`` across all those tests, whatever the drill. At the protected level every
    count is protected first (``_protect_cells``) and every share, interval, ratio and test is computed from
    the protected counts. Without ``tests`` (the organisation profile, which shows only the shares and their
    intervals) no test is run: every p-value is NaN and nothing is flagged.

    ``followup_months``: only cases referred at least that many months before the extract date (0: every case),
    so that the outcome shares among closed cases describe a cohort most of whose cases have had time to close,
    not the quick closures of recent referrals. Its counts are protected like any others.
    """
    if isinstance(followup_months, bool) or not isinstance(followup_months, int) or followup_months < 0:
        raise ValueError(f"followup_months must be a whole number of months, 0 or more; got {followup_months!r}")
    reference = checked_reference(split, reference, drill)
    viewer = default_viewer(viewer)
    rule = rule or Rule()
    log = QueryLog(runner, viewer.org)

    def run(breakdown: str) -> pd.DataFrame:
        return run_split_query(
            log, "outcomes_by_group", filters, split, breakdown=breakdown, followup_months=followup_months
        )

    parts = [_cells(run("none"), "none")]
    if drill is not None:
        for dimension in BREAKDOWNS:
            rows = run(dimension)
            rows = rows[rows["grp"].isin([drill, reference])]
            if dimension == "concern" and filters.concerns:
                rows = rows[rows["level"].isin(filters.concerns)]
            parts.append(_cells(rows, dimension))
    cells = _protect_cells(pd.concat(parts, ignore_index=True), viewer, rule)
    main = cells[cells["dimension"] == "none"]

    measures = _compare_proportions(_outcome_grid(main), split, reference, test=tests).drop(columns="level")
    measures = with_flags(measures, parts=NESTED_PARTS)
    groups = _group_sizes(main)
    groups = groups.sort_values("group", key=lambda s: order_groups(s, split), kind="stable", ignore_index=True)
    groups["is_reference"] = groups["group"] == reference
    groups = groups[["group", "cases", "closed", "open", "is_reference", "suppressed"]]

    shown = _hide_judgements(measures)
    shown = keep_drilled(shown, drill, reference)
    breakdown = pd.DataFrame()
    if drill is not None:

        def key_outcomes(dimension: str) -> pd.DataFrame:
            grid = _outcome_grid(cells[cells["dimension"] == dimension])
            return grid[grid["measure"].isin(KEY_OUTCOMES)]

        def measure(grid: pd.DataFrame, _: bool) -> pd.DataFrame:
            part = _compare_proportions(grid, split, reference, test=False).drop(columns=["p_value", "test"])
            return _hide_judgements(part)

        breakdown = drill_breakdown(key_outcomes, measure, drill=drill, reference=reference, filters=filters)
    return OutcomesView(
        groups=groups,
        measures=shown,
        breakdown=breakdown,
        reference=reference,
        drill=drill,
        national=filters.is_national,
        tests=int(measures["p_value"].notna().sum()),
        family=int(measures["flagged"].notna().sum()),
        flagged=int(shown["flagged"].eq(True).sum()),
        queries=log.names,
        protected=viewer.protected,
        followup_months=followup_months,
    )


def _hide_judgements(table: pd.DataFrame) -> pd.DataFrame:
    """No false-discovery flag where there was no test (a hidden count leaves none)."""
    if "flagged" in table and "p_value" in table:
        table = table.assign(flagged=table["flagged"].where(table["p_value"].notna(), None))
    return table

"""Pathways: how cases move from referral through the stages to their outcome, step by step, by group; where one
group's path diverges from the reference group's, and in which organisations (the Pathways page).

Follow-up is respected by restriction: every share is among cases referred at least ``FOLLOWUP_MONTHS`` months
before the extract date, so each case counted has had that long to reach the later steps (open cases among them
stay in the denominators of the stage steps; outcome steps are among their closed cases).

At the protected level every count is protected first (``pathway_cells``, then ``parity.disclosure.protect_table``)
and every share, interval, ratio, test, flag and funnel limit is computed from the protected counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule, protect_table
from parity.disclosure import protect as protect_counts_without_keys
from parity.filters import Filters
from parity.measures.common import (
    BREAKDOWNS,
    FALSE_DISCOVERY_RATE,
    QueryLog,
    RunsQueries,
    check_group,
    checked_reference,
    default_viewer,
    drill_breakdown,
    order_groups,
    run_split_query,
)
from parity.measures.organisations import funnel_points
from parity.viewer import Viewer

# Cases referred at least this many months before the extract date: long enough for most to close.
FOLLOWUP_MONTHS = 12
BAND = (0.8, 1.25)
# The diagram's label for every case, whatever its group.
ALL_CASES = "All cases"


@dataclass(frozen=True)
class Step:
    """One step of the pathway: the cases at ``start`` (a count of pathways_by_group) that reached ``end``."""

    key: str
    start: str
    end: str
    start_label: str
    end_label: str

    @property
    def label(self) -> str:
        return f"{self.start_label} → {self.end_label}"


_FORMAL = "Formal investigation"
# The transition table's rows, in pathway order (a count named here is a column of pathways_by_group).
STEPS: tuple[Step, ...] = (
    Step("informal", "cases", "informal", "Referral", "informal resolution"),
    Step("formal_first", "cases", "formal_first", "Referral", "formal investigation without informal resolution first"),
    Step("escalated", "informal", "escalated", "Informal resolution", "formal investigation"),
    Step("excluded", "cases", "excluded", "Referral", "exclusion or suspension"),
    Step("restricted", "formal", "restricted", _FORMAL, "restriction of practice"),
    Step("assessed", "formal", "assessed", _FORMAL, "assessment"),
    Step("heard", "formal", "heard", _FORMAL, "disciplinary hearing"),
    Step("to_regulator", "formal", "to_regulator", _FORMAL, "referral to the regulator"),
    Step("dismissed", "closed", "dismissed", "Closed case", "dismissed or removed"),
    Step("sanctioned", "closed", "sanctioned", "Closed case", "formal sanction"),
)
STEP_BY_KEY: dict[str, Step] = {s.key: s for s in STEPS}
STEP_LABELS: dict[str, str] = {s.key: s.label for s in STEPS}
_STEP_RANK = {s.key: i for i, s in enumerate(STEPS)}

# The pathway diagram's nodes: (layer, key) -> label. Routes come from pathway_flows_by_group.
ENTRY_LABELS = {
    "informal": "Informal resolution first",
    "formal_first": "Formal investigation first",
    "none": "No stage recorded",
}
FURTHEST_LABELS = {
    "informal_only": "Informal only",
    "formal": "Formal investigation",
    "excluded": "Exclusion or suspension",
}
HEARING_LABEL = "Hearing"
OPEN_LABEL = "Still open"
OUTCOME_NODE_LABELS = {**contract.OUTCOMES, "open": OPEN_LABEL}

_TRANSITION_COLUMNS = (
    "level",
    "step",
    "label",
    "group",
    "events",
    "denominator",
    "share",
    "lower",
    "upper",
    "rr",
    "rr_lower",
    "rr_upper",
    "p_value",
    "test",
    "outside_band",
    "direction",
    "is_reference",
    "suppressed",
)


@dataclass(frozen=True)
class PathwaysView:
    """Every number the Pathways page shows, after disclosure control (statistics from the protected counts).

    ``transitions``: one row per step (``STEPS``) and group: step, label, group, events (cases that took the
    step), denominator (cases at its start), share, lower, upper (Wilson), rr, rr_lower, rr_upper (Katz, against
    the reference group), p_value, test (Fisher where an expected count is below 5, else chi-square), significant
    (Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across the table), outside_band (the whole interval outside
    0.80–1.25), flagged (both), direction, is_reference, suppressed. With a drill, the drilled and reference
    groups only, flagged as in the whole table.
    ``flows``: the routes of the pathway diagram, one row per group (and ``ALL_CASES``) and link: group, source,
    target (node labels), n (cases, protected), share of the group's protected cases with lower and upper
    (Wilson), suppressed.

    At the protected level every count (the table's events and denominators, the diagram's links, the funnel's
    organisations, a drill's levels) passes ``parity.disclosure`` once, together (``pathway_cells``): perturbed by
    its cell key, hidden or rounded, with secondary suppression over every whole the page lets a reader add up.
    ``groups``: cases with enough follow-up per group (disclosed): group, cases, is_reference, suppressed.
    ``breakdown``: with a drill, ``step`` for the drilled and reference groups in each organisation type, region
    and concern type, with the ratio within the level (no tests); empty without a drill.
    ``funnel``: for ``funnel_step`` and ``funnel_group``, one row per organisation with cases at the step's
    start: org_code, org_name (None where the viewer may not see it), label, cases (took the step), headcount
    (at its start), rate (the share), the 95% and 99.8% limits (lower_95 ... upper_998), significance,
    outlier, is_selected, suppressed; ``limits`` its curves, ``average`` the pooled share, ``adjusted``
    and ``phi`` as on the Organisation page (``phi`` NaN where too few organisations' counts are shown to estimate
    it: ``estimated_from``).
    ``tests``: tests in the table; ``flagged``: flagged rows shown. ``queries``: the named queries run, in order.
    """

    transitions: pd.DataFrame
    flows: pd.DataFrame
    groups: pd.DataFrame
    breakdown: pd.DataFrame
    funnel: pd.DataFrame
    limits: pd.DataFrame
    average: float
    adjusted: bool
    phi: float
    reference: str
    drill: str | None
    step: str
    funnel_step: str
    funnel_group: str
    national: bool
    protected: bool
    followup_months: int
    tests: int
    flagged: int
    queries: tuple[str, ...]

    @property
    def organisations(self) -> int:
        return len(self.funnel)

    @property
    def estimated_from(self) -> int:
        """The funnel's organisations whose counts are shown (not hidden): those ``phi`` is estimated from."""
        if self.funnel.empty:
            return 0
        return int((self.funnel["cases"].notna() & self.funnel["headcount"].notna()).sum())


# --- Counts --------------------------------------------------------------------------------------


def viewer_counts(counts: pd.Series, *, protect: bool, rule: Rule) -> pd.Series:
    """Counts with no cell key as the viewer may see them: exact, or hidden (NaN) and rounded under the rule
    (``parity.disclosure.protect`` without keys). The View itself protects its counts with their keys
    (``protect_pathway_cells``); this is for counts that come without."""
    values = counts.astype(float)
    if not protect:
        return values
    return pd.Series(protect_counts_without_keys(values.to_numpy(), None, rule), index=counts.index)


_HIDDEN = -1.0  # a hidden count while the counts are pivoted (NaN would read as absent, i.e. zero)


def _pairs(level: pd.Series, grp: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's (level, group) pair as a code into the sorted distinct pairs (-1 where either is missing), and
    those pairs' levels and groups."""
    lv_codes, lv_values = pd.factorize(level, sort=True)
    g_codes, g_values = pd.factorize(grp, sort=True)
    there = (lv_codes >= 0) & (g_codes >= 0)
    combined = np.where(there, lv_codes.astype(np.int64) * max(len(g_values), 1) + g_codes, -1)
    present, codes = np.unique(combined[there], return_inverse=True)
    out = np.full(len(combined), -1, dtype=np.int64)
    out[there] = codes
    width = max(len(g_values), 1)
    return (
        out,
        np.asarray(lv_values, dtype=object)[present // width],
        np.asarray(g_values, dtype=object)[present % width],
    )


def step_counts(counts: pd.DataFrame, steps: tuple[Step, ...] = STEPS) -> pd.DataFrame:
    """From pathways_by_group's rows (level, grp, count_name, n) to one row per level, group and step: events and
    denominator, zeros included (a count absent from the rows is 0; a hidden one, NaN, stays NaN). Rows come step
    by step, and within a step by level and group in sorted order."""
    columns = ["level", "grp", "step", "events", "denominator"]
    if counts.empty or not steps:
        return pd.DataFrame(columns=columns)
    needed = sorted({s.start for s in steps} | {s.end for s in steps})
    codes, levels, groups = _pairs(counts["level"], counts["grp"])
    column = pd.Index(needed).get_indexer(counts["count_name"])
    there = (codes >= 0) & (column >= 0)
    # Summed per level, group and count with a hidden count as -1 (NaN would read as absent, i.e. zero).
    wide = np.zeros((len(levels), len(needed)))
    n = counts["n"].to_numpy(dtype=float)
    np.add.at(wide, (codes[there], column[there]), np.where(np.isnan(n), _HIDDEN, n)[there])
    wide[wide < 0] = np.nan
    if not len(levels):
        return pd.DataFrame(columns=columns)
    at = {name: i for i, name in enumerate(needed)}
    size = len(levels)
    return pd.DataFrame(
        {
            "level": np.tile(levels, len(steps)),
            "grp": np.tile(groups, len(steps)),
            "step": np.repeat(np.array([s.key for s in steps], dtype=object), size),
            "events": np.concatenate([wide[:, at[s.end]] for s in steps]),
            "denominator": np.concatenate([wide[:, at[s.start]] for s in steps]),
        },
        columns=columns,
    )


def compare_steps(
    grid: pd.DataFrame, split: str, reference: str, *, protect: bool, rule: Rule, test: bool = True
) -> pd.DataFrame:
    """Shares with Wilson intervals, and risk ratios (Katz) and tests against the reference group within each level
    and step, all from the counts as the viewer may see them. A grid with a ``suppressed`` column already holds
    the viewer's counts (hidden: NaN); one without is exact, and protected here when ``protect`` (``viewer_counts``).
    A protected count is never shown above its protected denominator."""
    grid = grid.copy()
    if "suppressed" not in grid:
        exact = grid[["events", "denominator"]].astype(float)
        grid["events"] = viewer_counts(grid["events"], protect=protect, rule=rule)
        grid["denominator"] = viewer_counts(grid["denominator"], protect=protect, rule=rule)
        grid["suppressed"] = (grid["events"].isna() & exact["events"].notna()) | (
            grid["denominator"].isna() & exact["denominator"].notna()
        )
    grid["events"] = np.fmin(grid["events"].astype(float), grid["denominator"].astype(float)).where(
        grid["events"].notna()
    )
    # A hidden denominator hides its share: the events, even if shown, would give it away with the interval.
    grid.loc[grid["denominator"].isna(), "events"] = math.nan
    ref = grid.loc[grid["grp"] == reference, ["level", "step", "events", "denominator"]]
    grid = grid.merge(ref, on=["level", "step"], how="left", suffixes=("", "_ref"))
    grid = grid.assign(_g=order_groups(grid["grp"], split), _s=grid["step"].map(_STEP_RANK))
    grid = grid.sort_values(["level", "_s", "_g"], kind="stable", ignore_index=True)
    x, n = grid["events"].to_numpy(float), grid["denominator"].to_numpy(float)
    c, m = grid["events_ref"].to_numpy(float), grid["denominator_ref"].to_numpy(float)
    is_reference = (grid["grp"] == reference).to_numpy()
    usable = ~np.isnan(x) & ~np.isnan(n) & (n > 0)
    lower, upper = np.full(len(grid), math.nan), np.full(len(grid), math.nan)
    if usable.any():
        lower[usable], upper[usable] = stats.wilson_intervals(x[usable], n[usable])
    # Compared with the reference where both sides are known and have cases; the ratio only where both have events.
    compared = usable & ~is_reference & ~np.isnan(c) & ~np.isnan(m) & (m > 0)
    p_value, test_name = np.full(len(grid), math.nan), np.full(len(grid), "", dtype=object)
    if test and compared.any():
        p_value[compared], methods = stats.compare_proportions_many(x[compared], n[compared], c[compared], m[compared])
        test_name[compared] = methods
    rr, rr_lower, rr_upper = stats.risk_ratios(np.where(compared, x, np.nan), n, np.where(compared, c, np.nan), m)
    rr[is_reference] = 1.0
    outside = np.where(np.isnan(rr_lower) | is_reference, None, (rr_lower > BAND[1]) | (rr_upper < BAND[0]))
    direction = np.where(
        np.isnan(rr_lower) | is_reference,
        None,
        np.where(rr_lower > 1, "higher", np.where(rr_upper < 1, "lower", "similar")),
    )
    rows = {
        "level": grid["level"].to_numpy(),
        "step": grid["step"].to_numpy(),
        "label": grid["step"].map(STEP_LABELS).to_numpy(),
        "group": grid["grp"].to_numpy(),
        "events": x,
        "denominator": n,
        "share": np.where(usable, x / np.where(n > 0, n, 1), math.nan),
        "lower": lower,
        "upper": upper,
        "rr": rr,
        "rr_lower": rr_lower,
        "rr_upper": rr_upper,
        "p_value": p_value,
        "test": test_name,
        "outside_band": outside,
        "direction": direction,
        "is_reference": is_reference,
        "suppressed": grid["suppressed"].to_numpy(dtype=bool),
    }
    table = pd.DataFrame(rows, columns=list(_TRANSITION_COLUMNS))
    for column in ("outside_band", "direction"):
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    if not test:
        table = table.drop(columns=["p_value", "test"])
    return table


def flag_disparities(table: pd.DataFrame) -> pd.DataFrame:
    """``significant``: Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across every p-value of the table (None
    where untested); ``flagged``: significant and the whole ratio interval outside 0.80–1.25."""
    tested = table["p_value"].notna()
    significant = pd.Series(
        stats.benjamini_hochberg(table["p_value"].tolist(), alpha=FALSE_DISCOVERY_RATE), index=table.index
    )
    out = table.assign(significant=significant.astype(object).where(tested, None))
    out["flagged"] = (significant & out["outside_band"].eq(True)).astype(object).where(tested, None)
    return out


def largest_disparities(transitions: pd.DataFrame, limit: int = 3) -> pd.DataFrame:
    """The flagged rows, furthest from 1 on the log scale first (at most ``limit``)."""
    flagged = transitions[transitions["flagged"].eq(True)].copy()
    if flagged.empty:
        return flagged
    flagged["_distance"] = np.abs(np.log(flagged["rr"].astype(float)))
    return flagged.sort_values("_distance", ascending=False).head(limit).drop(columns="_distance")


# --- The pathway diagram ---------------------------------------------------------------------------


def _links(routes: pd.DataFrame) -> pd.DataFrame:
    """Routes (grp, entry, furthest, heard, outcome, n, n_key) to links between the diagram's nodes, summed (the
    cell key of a link is the sum of its routes' keys). Links come in the order first met: every route's link from
    referral, then its entry's link on, then to a hearing, then to the outcome (a few hundred routes: summed in a
    dictionary, not a frame)."""
    referred = "Referred"
    entry = routes["entry"].map(ENTRY_LABELS).to_numpy(dtype=object)
    furthest = routes["furthest"].map(FURTHEST_LABELS).to_numpy(dtype=object)
    outcome = routes["outcome"].map(OUTCOME_NODE_LABELS).fillna(contract.OUTCOMES["other"]).to_numpy(dtype=object)
    heard = routes["heard"].astype(bool).to_numpy()
    before_outcome = np.where(heard, HEARING_LABEL, furthest)
    grp = routes["grp"].to_numpy(dtype=object)
    n = np.nan_to_num(routes["n"].to_numpy(dtype=float))
    key = np.nan_to_num(routes["n_key"].to_numpy(dtype=float)) if "n_key" in routes else np.zeros(len(routes))
    every = np.ones(len(routes), dtype=bool)
    sums: dict[tuple[object, object, object], list[float]] = {}
    for sources, targets, rows in (
        (np.full(len(routes), referred, dtype=object), entry, every),
        (entry, furthest, every),
        (furthest, np.full(len(routes), HEARING_LABEL, dtype=object), heard),
        (before_outcome, outcome, every),
    ):
        for i in np.flatnonzero(rows):
            link = (grp[i], sources[i], targets[i])
            if any(pd.isna(v) for v in link):
                continue
            total = sums.setdefault(link, [0.0, 0.0])
            total[0] += n[i]
            total[1] += key[i]
    # "No stage recorded" leads straight on to "No formal investigation": keep that link (its cases are there).
    return pd.DataFrame(
        [(*link, total[0], total[1]) for link, total in sums.items()],
        columns=["grp", "source", "target", "n", "n_key"],
    )


def pathway_flows(links: pd.DataFrame, totals: pd.Series) -> pd.DataFrame:
    """Each group's links (the viewer's counts: grp, source, target, n, suppressed) with their shares of the
    group's cases (``totals``, the viewer's too) and Wilson intervals, computed from those counts."""
    columns = ["group", "source", "target", "n", "share", "lower", "upper", "suppressed"]
    if links.empty:
        return pd.DataFrame(columns=columns)
    n = links["n"].astype(float)
    total = links["grp"].map(totals).astype(float)
    usable = n.notna() & total.notna() & (total > 0)
    lower, upper = np.full(len(links), math.nan), np.full(len(links), math.nan)
    if usable.any():
        lower[usable.to_numpy()], upper[usable.to_numpy()] = stats.wilson_intervals(
            np.minimum(n[usable], total[usable]), total[usable]
        )
    return pd.DataFrame(
        {
            "group": links["grp"],
            "source": links["source"],
            "target": links["target"],
            "n": n,
            "share": (np.minimum(n, total) / total).where(usable),
            "lower": lower,
            "upper": upper,
            "suppressed": links["suppressed"].to_numpy(dtype=bool),
        },
        columns=columns,
    )


# --- Disclosure control --------------------------------------------------------------------------

# Diagram nodes whose total is a count of pathways_by_group (the same cases): one cell, shown in both places.
NODE_COUNTS = {
    "Referred": "cases",
    ENTRY_LABELS["formal_first"]: "formal_first",
    FURTHEST_LABELS["excluded"]: "excluded",
    contract.OUTCOMES["dismissed_or_removed"]: "dismissed",
    contract.OUTCOMES["formal_sanction"]: "sanctioned",
}
_CELL_COLUMNS = ["part", "level", "grp", "name", "source", "target", "n", "n_key"]


def _count_cells(rows: pd.DataFrame, part: str) -> pd.DataFrame:
    """pathways_by_group's rows as cells (every count of every level and group, zeros included): one row per level
    and group (in sorted order, rows with no level left out) and count name (in sorted order), counts and keys
    summed."""
    names = sorted({s.start for s in STEPS} | {s.end for s in STEPS})
    if rows.empty:
        return pd.DataFrame(columns=_CELL_COLUMNS)
    codes, levels, groups = _pairs(rows["level"], rows["grp"])
    column = pd.Index(names).get_indexer(rows["count_name"])
    there = (codes >= 0) & (column >= 0)
    size = (len(levels), len(names))
    n, key = np.zeros(size), np.zeros(size)
    np.add.at(n, (codes[there], column[there]), np.nan_to_num(rows["n"].to_numpy(dtype=float))[there])
    np.add.at(key, (codes[there], column[there]), np.nan_to_num(rows["n_key"].to_numpy(dtype=float))[there])
    width = len(names)
    return pd.DataFrame(
        {
            "part": part,
            "level": np.repeat(levels, width),
            "grp": np.repeat(groups, width),
            "name": np.tile(np.array(names, dtype=object), len(levels)),
            "source": None,
            "target": None,
            "n": n.ravel(),
            "n_key": key.ravel(),
        },
        columns=_CELL_COLUMNS,
    )


def _stack_cells(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts one under another, column by column (``pd.concat`` checks every value of a column of Nones)."""
    filled = [p for p in parts if not p.empty]
    if not filled:
        return pd.DataFrame(columns=_CELL_COLUMNS)
    columns = {}
    for c in _CELL_COLUMNS:
        dtype = float if c in ("n", "n_key") else object
        columns[c] = np.concatenate([p[c].to_numpy(dtype=dtype) for p in filled])
    return pd.DataFrame(columns, columns=_CELL_COLUMNS)


def _with_all_cases(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The cells, and the same cells for every case (``ALL_CASES``): counts and keys summed over the groups."""
    everyone = cells.groupby(by, as_index=False, dropna=False)[["n", "n_key"]].sum().assign(grp=ALL_CASES)
    return pd.concat([cells, everyone[cells.columns]], ignore_index=True)


def pathway_cells(
    counts: pd.DataFrame,
    routes: pd.DataFrame,
    by_org: pd.DataFrame,
    drills: dict[str, pd.DataFrame],
    filtered_orgs: tuple[str, ...] = (),
    *,
    protected: bool = True,
) -> tuple[pd.DataFrame, list[np.ndarray], np.ndarray]:
    """Every count the page can show, as one table of cells, and the wholes a reader could add up.

    Cells (``part``): ``count`` (each group's and every case's counts of pathways_by_group), ``link`` (the
    diagram's links), ``node`` (a node's cases, where no count is that node), ``org`` (each organisation's counts,
    for the funnel), ``country`` (those summed over every organisation), and one part per drill breakdown. Wholes:
    the groups of each count, node and link with every case's; each node's cases with the links into it, and
    with the links out of it; each count's organisations with their sum, which is the count itself when no
    organisation is filtered (else the filtered organisations' counts with it); a drill's organisation types (or
    regions) of a group with its count. Returns the cells, the wholes (positions) and the cells that are totals
    (``keep``); no wholes at the full level (``protected`` False), where nothing is hidden."""
    parts = [_with_all_cases(_count_cells(counts, "count"), ["part", "level", "name", "source", "target"])]
    links = _links(routes) if not routes.empty else pd.DataFrame(columns=["grp", "source", "target", "n", "n_key"])
    links = links.assign(part="link", level="all", name=links["source"] + " → " + links["target"])
    links = _with_all_cases(links[_CELL_COLUMNS], ["part", "level", "name", "source", "target"])
    parts.append(links)
    into = links.groupby(["grp", "target"], as_index=False)[["n", "n_key"]].sum()
    into = into[~into["target"].isin(list(NODE_COUNTS))]
    parts.append(into.assign(part="node", level="all", name=into["target"], source=None, target=None)[_CELL_COLUMNS])
    orgs = _count_cells(by_org, "org")
    parts.append(orgs)
    country = orgs.groupby(["grp", "name"], as_index=False)[["n", "n_key"]].sum()
    parts.append(country.assign(part="country", level="all", source=None, target=None)[_CELL_COLUMNS])
    for dimension, rows in drills.items():
        parts.append(_count_cells(rows, dimension))
    cells = _stack_cells(parts)
    cells["n"] = cells["n"].astype(float)
    cells["n_key"] = np.mod(cells["n_key"].astype(float).fillna(0), contract.RECORD_KEYS)  # as ``cell_key``

    keep = np.zeros(len(cells), dtype=bool)
    wholes: list[np.ndarray] = []
    if not protected:
        return cells, wholes, keep
    # Whole frames, not row loops: each part's rows grouped once (positions in ``cells``, ascending within a
    # group, groups in key order), so the wholes come out in the same order as a row-by-row walk would give.
    part = cells["part"].to_numpy()
    grp, name = cells["grp"].to_numpy(), cells["name"].to_numpy()

    def groups(mask: np.ndarray, keys: tuple[str, str]) -> dict[tuple, np.ndarray]:
        """The rows of ``mask`` grouped by two ``keys`` (rows missing either left out): key → positions in
        ``cells``, keys in sorted order and positions ascending, as ``groupby(keys).indices`` gives them."""
        at = np.flatnonzero(mask)
        (first, firsts), (second, seconds) = (pd.factorize(cells[k].to_numpy()[at], sort=True) for k in keys)
        there = (first >= 0) & (second >= 0)
        code = first[there].astype(np.int64) * max(len(seconds), 1) + second[there]
        if not len(code):
            return {}
        order = np.argsort(code, kind="stable")
        code, rows = code[order], at[there][order]
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        width = max(len(seconds), 1)
        return {
            (firsts[c // width], seconds[c % width]): part
            for c, part in zip(code[starts].tolist(), np.split(rows, starts[1:]), strict=True)
        }

    def index_of(kind: str) -> dict[tuple[str, str], int]:
        """(grp, name) → position of the ``kind`` cell (the last, where a pair repeats)."""
        at = np.flatnonzero(part == kind)
        return dict(zip(zip(grp[at], name[at], strict=True), at.tolist(), strict=True))

    everyone = grp == ALL_CASES
    shared = np.isin(part, ["count", "link", "node"])
    wholes.extend(groups(shared, ("part", "name")).values())
    keep |= everyone
    count_at, node_at, country_at = index_of("count"), index_of("node"), index_of("country")
    is_link = part == "link"
    for side in ("source", "target"):
        for (g, node), at in groups(is_link, ("grp", side)).items():
            total = count_at.get((g, NODE_COUNTS[node])) if node in NODE_COUNTS else node_at.get((g, node))
            if total is not None:
                wholes.append(np.append(at, total))
                keep[total] = True
    is_org = part == "org"
    for key, at in groups(is_org, ("grp", "name")).items():
        total = country_at[key]
        wholes.append(np.append(at, total))
        keep[total] = True
    n = cells["n"].to_numpy()
    for key, i in country_at.items():
        if key in count_at and n[i] == n[count_at[key]]:
            wholes.append(np.array([i, count_at[key]]))  # the same cases: one cell shown twice
    if filtered_orgs:
        chosen = is_org & cells["level"].isin(filtered_orgs).to_numpy()
        for key, at in groups(chosen, ("grp", "name")).items():
            if key in count_at:
                wholes.append(np.append(at, count_at[key]))
    for dimension in drills:
        if dimension == "concern":  # a case with two concern types counts under each: no whole
            continue
        for key, at in groups(part == dimension, ("grp", "name")).items():
            if key in count_at:
                wholes.append(np.append(at, count_at[key]))
    return cells, wholes, keep


# --- The View ------------------------------------------------------------------------------------


def default_step(transitions: pd.DataFrame, reference: str) -> tuple[str, str | None]:
    """The step and group the funnel shows by default: the largest flagged disparity, else referral to formal
    investigation without informal resolution first for the known group with the largest ratio there."""
    top = largest_disparities(transitions, 1)
    if not top.empty:
        return str(top["step"].iloc[0]), str(top["group"].iloc[0])
    rows = transitions[
        (transitions["step"] == "formal_first")
        & ~transitions["is_reference"].astype(bool)
        & ~transitions["group"].map(contract.is_unknown_group)
        & pd.to_numeric(transitions["rr"], errors="coerce").notna()
    ]
    if rows.empty:
        return "formal_first", None
    return "formal_first", str(rows.loc[pd.to_numeric(rows["rr"]).idxmax(), "group"])


def pathways_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    step: str | None = None,
    funnel_step: str | None = None,
    funnel_group: str | None = None,
    selected_org: str | None = None,
    scope_org: str | None = None,
    followup_months: int = FOLLOWUP_MONTHS,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
) -> PathwaysView:
    """All the Pathways page's numbers: the transition table, the diagram's routes and one step's funnel of
    organisations (every organisation: the organisation filter does not narrow the funnel); with a drill, ``step``
    (default: the drilled group's largest flagged step) broken down by organisation type, region and concern.

    ``selected_org`` is marked on the funnel (default: the filter's single organisation, else ``scope_org``);
    ``scope_org`` is an employer's own organisation: every other organisation on the funnel stays unnamed.
    At the protected level (``viewer``; protected by default) every count is protected, whatever narrows it, and
    every statistic is computed from the protected counts; at the full level they are exact.
    """
    reference = checked_reference(split, reference, drill)
    rule = rule or Rule()
    viewer = default_viewer(viewer)
    protect = viewer.protected
    for key in (step, funnel_step):
        if key is not None and key not in STEP_BY_KEY:
            raise ValueError(f"unknown step {key!r}; choose one of {', '.join(STEP_BY_KEY)}")
    if funnel_group is not None:
        check_group(split, funnel_group)
    national = filters.is_national
    if selected_org is None:
        selected_org = filters.orgs[0] if len(filters.orgs) == 1 else scope_org
    log = QueryLog(runner, scope_org if scope_org is not None else viewer.org)

    def run(breakdown: str, chosen: Filters = filters) -> pd.DataFrame:
        return run_split_query(
            log, "pathways_by_group", chosen, split, breakdown=breakdown, followup_months=followup_months
        )

    # Every case has one organisation: without an organisation filter, the funnel's counts by organisation sum
    # to the table's, and one scan of the cases gives both.
    everywhere = replace(filters, orgs=())
    rows_by_org = run("org", everywhere)
    if filters.orgs:
        counts = run("none")
    else:
        counts = rows_by_org.groupby(["grp", "count_name"], as_index=False)[["n", "n_key"]].sum().assign(level="all")
    routes = run_split_query(log, "pathway_flows_by_group", filters, split, followup_months=followup_months)
    drills = {}
    if drill is not None:
        for dimension in BREAKDOWNS:
            rows = run(dimension)
            drills[dimension] = rows[rows["grp"].isin([drill, reference])]

    # Every count under the rule at once (exact at the full level), before anything is computed from them.
    cells, wholes, keep = pathway_cells(counts, routes, rows_by_org, drills, filters.orgs, protected=protect)
    cells = protect_table(cells, ["n"], protected=protect, rule=rule, wholes=wholes, keep=keep)

    renamed = cells.rename(columns={"name": "count_name"})
    parts = {name: renamed.iloc[rows] for name, rows in renamed.groupby("part", sort=False).indices.items()}

    def part(name: str) -> pd.DataFrame:
        """One part's cells (read only: every use filters or copies them)."""
        return parts.get(name, renamed.iloc[:0])

    def grid(name: str, steps: tuple[Step, ...] = STEPS) -> pd.DataFrame:
        rows = part(name)
        # Every level and group of a part has a cell for every count: the steps' own counts are enough.
        rows = rows[rows["count_name"].isin({s.start for s in steps} | {s.end for s in steps})]
        out = step_counts(rows, steps)
        hidden = rows[rows["suppressed"]]
        marked = {(lv, g, c) for lv, g, c in zip(hidden["level"], hidden["grp"], hidden["count_name"], strict=True)}
        ends = [(STEP_BY_KEY[k].start, STEP_BY_KEY[k].end) for k in out["step"]]
        out["suppressed"] = [
            (lv, g, a) in marked or (lv, g, b) in marked
            for lv, g, (a, b) in zip(out["level"], out["grp"], ends, strict=True)
        ]
        return out

    main = part("count")
    main = main[main["grp"] != ALL_CASES]
    transitions = compare_steps(
        grid("count")[lambda g: g["grp"] != ALL_CASES], split, reference, protect=protect, rule=rule
    )
    transitions = flag_disparities(transitions.drop(columns="level"))
    tests = int(transitions["p_value"].notna().sum())

    sizes = main[main["count_name"] == "cases"]
    groups = pd.DataFrame(
        {"group": sizes["grp"].to_numpy(), "cases": sizes["n"].to_numpy(), "suppressed": sizes["suppressed"].to_numpy()}
    )
    groups = groups.sort_values("group", key=lambda s: order_groups(s, split), kind="stable", ignore_index=True)
    groups["is_reference"] = groups["group"] == reference
    groups = groups[["group", "cases", "is_reference", "suppressed"]]

    everyone = part("count")
    totals = everyone[everyone["count_name"] == "cases"].set_index("grp")["n"]
    links = cells[cells["part"] == "link"]
    order = {g: i for i, g in enumerate([ALL_CASES, *groups["group"]])}
    links = links.sort_values("grp", key=lambda s: s.map(order), kind="stable")
    flows = pathway_flows(links.reset_index(drop=True), totals).reset_index(drop=True)

    shown = transitions
    if drill is not None and drill != reference:
        shown = transitions[transitions["group"].isin([drill, reference])].reset_index(drop=True)

    default_key, default_group = default_step(transitions, reference)
    funnel_step = funnel_step or default_key
    funnel_group = funnel_group or default_group or reference
    chosen_step = STEP_BY_KEY[funnel_step]
    by_org = grid("org", (chosen_step,))
    # The organisations with cases at the step's start (exact counts: none of them is shown or left out by that).
    starts = rows_by_org[
        (rows_by_org["grp"] == funnel_group) & (rows_by_org["count_name"] == chosen_step.start) & (rows_by_org["n"] > 0)
    ]
    started = set(starts["level"].dropna())
    by_org = by_org[(by_org["grp"] == funnel_group) & by_org["level"].isin(started)]
    names = log.run("organisations_list", {"scope_org": scope_org})
    named = dict(zip(names["org_code"], names["org_name"], strict=True))
    orgs = pd.DataFrame(
        {
            "org_code": by_org["level"].to_numpy(),
            "org_name": by_org["level"].map(named).to_numpy(),
            "cases": by_org["events"].to_numpy(dtype=float),
            "headcount": by_org["denominator"].to_numpy(dtype=float),
            "suppressed": by_org["suppressed"].to_numpy(dtype=bool),
        }
    )
    # The centre is the country's share, from the viewer's counts of every organisation's cases.
    country = grid("country", (chosen_step,))
    country = country[country["grp"] == funnel_group]
    x = float(country["events"].iloc[0]) if len(country) else math.nan
    n = float(country["denominator"].iloc[0]) if len(country) else math.nan
    average = min(x, n) / n if n > 0 and not math.isnan(x) else math.nan
    funnel, curve, average, adjusted, phi = funnel_points(orgs, selected_org, average, per=1)

    breakdown = pd.DataFrame()
    drill_step = step or funnel_step
    if drill is not None:
        if step is None:
            mine = largest_disparities(transitions[transitions["group"] == drill], 1)
            drill_step = str(mine["step"].iloc[0]) if not mine.empty else funnel_step
        chosen_steps = (STEP_BY_KEY[drill_step],)

        def rows_for(dimension: str) -> pd.DataFrame:
            return grid(dimension, chosen_steps)

        def measure(rows: pd.DataFrame, at_national_level: bool) -> pd.DataFrame:
            return compare_steps(rows, split, reference, protect=protect, rule=rule, test=False)

        breakdown = drill_breakdown(rows_for, measure, drill=drill, reference=reference, filters=filters)

    return PathwaysView(
        transitions=shown,
        flows=flows,
        groups=groups,
        breakdown=breakdown,
        funnel=funnel,
        limits=curve,
        average=average,
        adjusted=adjusted,
        phi=phi,
        reference=reference,
        drill=drill,
        step=drill_step,
        funnel_step=funnel_step,
        funnel_group=funnel_group,
        national=national,
        protected=protect,
        followup_months=followup_months,
        tests=tests,
        flagged=int(shown["flagged"].eq(True).sum()),
        queries=log.names,
    )

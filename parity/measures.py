"""Measures: named queries turned into the numbers Parity shows, with their intervals.

This is the one code path behind the dashboard pages and the summary CLI: SQL counts and sums,
``parity.stats`` computes every interval, ratio and test, and this module puts them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import Database, get_query
from parity.disclosure import Rule, disclose, round_count
from parity.filters import Filters

SUMMARY_COLUMNS: tuple[str, ...] = (
    "group",
    "cases",
    "headcount",
    "rate",
    "rate_lower",
    "rate_upper",
    "rl",
    "rl_lower",
    "rl_upper",
    "in_band",
    "significant",
    "is_reference",
)

# Fewer referrals than this in a group: shown, with its wide interval, and flagged "small numbers".
SMALL_NUMBERS = 10


def default_reference(split: str, ethnicity_reference: str = contract.WHITE, pmq_reference: str = "UK") -> str:
    """The reference group for a split, honouring the settings' reference groups."""
    if split == "ethnic_group":
        return ethnicity_reference
    if split == "pmq_region":
        return contract.PMQ_REGIONS[pmq_reference]
    return contract.SPLITS[split].default_reference


def order_groups(groups: pd.Series, split: str) -> pd.Series:
    """Sort key: the contract's order for the split, unknown labels last."""
    order = {g: i for i, g in enumerate(contract.SPLITS[split].groups)}
    return groups.map(lambda g: order.get(g, len(order)))


def referral_summary(db: Database, filters: Filters, split: str, reference: str | None = None) -> pd.DataFrame:
    """Referral rate per 1,000 and relative likelihood against the reference group, one row per group.

    Columns: SUMMARY_COLUMNS, then ``direction`` and ``small_numbers``. Groups with neither cases nor
    headcount are absent. The reference is never a "not stated" or "not known" group.
    """
    if split not in contract.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(contract.SPLITS)}")
    reference = reference or default_reference(split)
    if contract.is_unknown_group(reference):
        raise ValueError(f"{reference!r} cannot be a reference group: it is a 'not stated' or 'not known' group")
    query = get_query("referrals_by_group")
    counts = db.run(query.name, {"split": split, **filters.params(query.params)})
    return summarise_rates(counts, split, reference)


def summarise_rates(counts: pd.DataFrame, split: str, reference: str) -> pd.DataFrame:
    """From (grp, cases, headcount) rows to rates, RLs and their judgements."""
    counts = counts[(counts["cases"] > 0) | (counts["headcount"] > 0)].copy()
    counts = counts.sort_values("grp", key=lambda s: order_groups(s, split), kind="stable")
    ref = counts[counts["grp"] == reference]
    ref_cases = int(ref["cases"].iloc[0]) if len(ref) else 0
    ref_head = int(ref["headcount"].iloc[0]) if len(ref) else 0
    rows = [
        rate_row(grp, int(cases), int(headcount), ref_cases, ref_head, grp == reference)
        for grp, cases, headcount in counts[["grp", "cases", "headcount"]].itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "direction", "small_numbers"])


def rate_row(grp: str, cases: int, headcount: int, ref_cases: int, ref_head: int, is_reference: bool) -> dict:
    """One group's rate, interval, RL against the reference's counts and judgement: a row of ``summarise_rates``."""
    if headcount > 0 and cases <= headcount:
        rate = cases / headcount * 1000
        rate_lower, rate_upper = stats.rate_interval(cases, headcount, per=1000)
    else:
        rate = rate_lower = rate_upper = math.nan
    if is_reference or ref_head == 0 or headcount == 0 or ref_cases == 0 or cases > headcount:
        ratio = stats.Ratio(1.0 if is_reference else math.nan, math.nan, math.nan)
        judgement = stats.Judgement(in_band=True, significant=False, direction="similar") if is_reference else None
    else:
        ratio = stats.risk_ratio(cases, headcount, ref_cases, ref_head)
        judgement = stats.ratio_judgement(ratio)
    return {
        "group": grp,
        "cases": cases,
        "headcount": headcount,
        "rate": rate,
        "rate_lower": rate_lower,
        "rate_upper": rate_upper,
        "rl": ratio.value,
        "rl_lower": ratio.lower,
        "rl_upper": ratio.upper,
        "in_band": judgement.in_band if judgement else None,
        "significant": judgement.significant if judgement else None,
        "is_reference": is_reference,
        "direction": judgement.direction if judgement else None,
        "small_numbers": cases < SMALL_NUMBERS,
    }


def disclosed_referral_summary(
    db: Database, filters: Filters, split: str, reference: str | None, rule: Rule
) -> pd.DataFrame:
    """``referral_summary`` after disclosure control (below national level): what every view shows."""
    return disclose_summary(referral_summary(db, filters, split, reference), national=filters.is_national, rule=rule)


# --- Concern rates page ------------------------------------------------------------------------

# Rolling windows offered for small groups: financial years per window (1: each year on its own).
WINDOWS: tuple[int, ...] = (1, 3, 5)

# The drill-down's breakdowns, in the order the page shows them, and their labels.
BREAKDOWNS: dict[str, str] = {"org_type": "organisation type", "region": "region", "concern": "concern type"}
_LEVEL_LABELS: dict[str, dict[str, str]] = {
    "org_type": contract.ORG_TYPES,
    "region": {r: r for r in contract.REGIONS},
    "concern": contract.CONCERN_TYPES,
}
_RATIO_COLUMNS = ("rate", "rate_lower", "rate_upper", "rl", "rl_lower", "rl_upper")


@dataclass(frozen=True)
class ConcernRatesView:
    """Every number the Concern rates page shows, after disclosure control.

    Each table has the columns of ``summarise_rates`` plus ``suppressed``, and:
    ``summary``: one row per group of the split, against the chosen reference.
    ``intersection``: one row per ethnic group × place of qualification, against White UK graduates;
    plus ``ethnic_group`` and ``pmq``.
    ``within_pmq``: the same cells, each against White practitioners with the same place of
    qualification (so that a gap among IMGs and one among UK graduates can be told apart).
    ``concerns``: one row per group and concern type (cases with that type ÷ headcount); plus ``concern``
    and ``concern_label``.
    ``trend``: one row per group and window of ``window`` financial years, by its last year; plus
    ``fy_start``, ``window_start`` and ``period``.
    ``breakdown``: with a drill, the drilled and reference groups in each level of each breakdown; plus
    ``dimension``, ``level`` and ``level_label``. Empty without a drill.
    """

    summary: pd.DataFrame
    intersection: pd.DataFrame
    within_pmq: pd.DataFrame
    concerns: pd.DataFrame
    trend: pd.DataFrame
    breakdown: pd.DataFrame
    national: bool
    window: int
    drill: str | None


def disclose_summary(table: pd.DataFrame, *, national: bool, rule: Rule, within: tuple[str, ...] = ()) -> pd.DataFrame:
    """Disclosure control for tables of ``summarise_rates`` rows, compared within blocks of ``within`` columns.

    Counts are suppressed or rounded and each rate, ratio and bound that depends on a hidden count is
    blanked. Below national level, where a block's reference group has a hidden count, every ratio in
    that block is blanked too: its denominator would be hidden.
    """
    hidden_reference = table["is_reference"] & table["cases"].between(1, rule.suppress_max)
    out = disclose(
        table,
        counts=["cases", "headcount"],
        depends_on={c: ["cases"] for c in _RATIO_COLUMNS},
        national=national,
        rule=rule,
    )
    if not national and hidden_reference.any():
        if within:
            blocks = table.loc[hidden_reference, list(within)].drop_duplicates()
            in_hidden_block = table[list(within)].merge(blocks, how="left", indicator=True)["_merge"].eq("both")
            in_hidden_block.index = table.index
        else:
            in_hidden_block = pd.Series(True, index=table.index)
        out.loc[in_hidden_block & ~out["is_reference"], ["rl", "rl_lower", "rl_upper"]] = math.nan
    # A judgement of a hidden ratio would give it away.
    hidden_ratio = out["rl"].isna() & ~out["is_reference"].astype(bool)
    if hidden_ratio.any():
        for column in ("in_band", "significant", "direction"):
            out[column] = out[column].astype(object).where(~hidden_ratio, None)
    return out


def _summarise_within(counts: pd.DataFrame, by: list[str], split: str, reference: str) -> pd.DataFrame:
    """``summarise_rates`` within each block of ``by`` columns (each against its block's reference), in one pass.

    Blocks keep the order in which they first appear; groups within a block follow the split's order.
    """
    columns = [*by, *SUMMARY_COLUMNS, "direction", "small_numbers"]
    counts = counts[(counts["cases"] > 0) | (counts["headcount"] > 0)]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    keys = list(zip(*(counts[b] for b in by), strict=True))
    block_rank = {key: i for i, key in reversed(list(enumerate(keys)))}
    group_rank = order_groups(counts["grp"], split)
    refs = {
        key: (int(c), int(h))
        for key, g, c, h in zip(keys, counts["grp"], counts["cases"], counts["headcount"], strict=True)
        if g == reference
    }
    records = sorted(
        zip(keys, counts["grp"], counts["cases"], counts["headcount"], group_rank, strict=True),
        key=lambda r: (block_rank[r[0]], r[4]),
    )
    rows = []
    for key, grp, cases, headcount, _ in records:
        ref_cases, ref_head = refs.get(key, (0, 0))
        row = rate_row(grp, int(cases), int(headcount), ref_cases, ref_head, grp == reference)
        rows.append({**dict(zip(by, key, strict=True)), **row})
    return pd.DataFrame(rows, columns=columns)


def _intersection_tables(crossed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the ethnicity × PMQ summary: it with ``ethnic_group`` and ``pmq`` columns, and each cell against
    White practitioners of the same place of qualification."""
    parts = crossed["group"].str.split(" · ", n=1, expand=True) if len(crossed) else pd.DataFrame({0: [], 1: []})
    crossed = crossed.copy()
    crossed.insert(0, "pmq", parts[1])
    crossed.insert(0, "ethnic_group", parts[0])
    counts = crossed[["pmq", "ethnic_group", "cases", "headcount"]].rename(columns={"ethnic_group": "grp"})
    within = _summarise_within(counts, ["pmq"], "ethnic_group", contract.WHITE)
    within = within.rename(columns={"group": "ethnic_group"})
    within.insert(2, "group", within["ethnic_group"] + " · " + within["pmq"])
    rank = {p: i for i, p in enumerate(contract.PMQ_REGIONS.values())}
    within = within.sort_values("pmq", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)
    return crossed, within


def _window_label(start: int, end: int) -> str:
    if start == end:
        return contract.financial_year_label(end)
    return f"{contract.financial_year_label(start)} to {contract.financial_year_label(end)}"


def concern_rates_view(
    db: Database,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    window: int = 1,
    drill: str | None = None,
    rule: Rule | None = None,
) -> ConcernRatesView:
    """All the Concern rates page's numbers for one view: four grouped queries, five with a drill.

    ``window`` is the rolling window of the trend in financial years (one of ``WINDOWS``); ``drill`` a
    group of the split to break down by organisation type, region and concern type against the
    reference group. Breakdowns by organisation type and region are always below national level.
    """
    if split not in contract.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(contract.SPLITS)}")
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(map(str, WINDOWS))} financial years, not {window!r}")
    if drill is not None and drill not in contract.SPLITS[split].groups:
        raise ValueError(f"{drill!r} is not a group of the {contract.SPLITS[split].phrase} split")
    reference = reference or default_reference(split)
    rule = rule or Rule()
    national = filters.is_national

    def run(name: str, **extra: object) -> pd.DataFrame:
        return db.run(name, {"split": split, **filters.params(get_query(name).params), **extra})

    summary = referral_summary(db, filters, split, reference)
    cross = contract.SPLITS["ethnicity_pmq"].default_reference
    intersection = (
        summary.copy()
        if split == "ethnicity_pmq" and reference == cross
        else referral_summary(db, filters, "ethnicity_pmq", cross)
    )
    intersection, within_pmq = _intersection_tables(intersection)

    concern_counts = run("referrals_by_group_concern")
    concerns = _summarise_within(concern_counts, ["concern"], split, reference)
    order = {c: i for i, c in enumerate(contract.CONCERN_TYPES)}
    concerns = concerns.sort_values("concern", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    concerns.insert(1, "concern_label", concerns["concern"].map(contract.CONCERN_TYPES))

    yearly = run("referrals_by_group_year", window=window)
    trend = _summarise_within(yearly, ["fy_start", "window_start"], split, reference)
    trend = trend.sort_values(["fy_start"], kind="stable").reset_index(drop=True)
    trend.insert(
        2, "period", [_window_label(s, e) for s, e in zip(trend["window_start"], trend["fy_start"], strict=True)]
    )

    breakdown = pd.DataFrame(columns=["dimension", "level", "level_label", *SUMMARY_COLUMNS, "suppressed"])
    if drill is not None:
        counts = run("referrals_by_group_breakdown", drill_group=drill, reference=reference)
        tables = []
        for dimension, labels in _LEVEL_LABELS.items():
            rows = _summarise_within(counts[counts["dimension"] == dimension], ["level"], split, reference)
            rank = {level: i for i, level in enumerate(labels)}
            rows = rows.sort_values("level", key=lambda s: s.map(rank), kind="stable")
            rows.insert(0, "level_label", rows["level"].map(labels))
            rows.insert(0, "dimension", dimension)
            # Organisation types and regions are below national level whatever the filters.
            tables.append(
                disclose_summary(rows, national=national and dimension == "concern", rule=rule, within=("level",))
            )
        shown = [t for t in tables if not t.empty]
        breakdown = pd.concat(shown, ignore_index=True) if shown else breakdown

    return ConcernRatesView(
        summary=disclose_summary(summary, national=national, rule=rule),
        intersection=disclose_summary(intersection, national=national, rule=rule),
        within_pmq=disclose_summary(within_pmq, national=national, rule=rule, within=("pmq",)),
        concerns=disclose_summary(concerns, national=national, rule=rule, within=("concern",)),
        trend=disclose_summary(trend, national=national, rule=rule, within=("fy_start",)),
        breakdown=breakdown,
        national=national,
        window=window,
        drill=drill,
    )


# --- Outcomes and Durations pages --------------------------------------------------------------

# Two measures built from the stages: either interim measure, and a formal investigation that no
# informal resolution preceded (a route into the formal process that skips the informal one).
COMBINED_STAGES: dict[str, str] = {
    "exclusion_or_suspension": "Exclusion or suspension",
    "formal_without_informal": "Formal investigation without informal resolution first",
}
OUTCOME_LABELS: dict[str, str] = {**contract.STAGES, **COMBINED_STAGES, **contract.OUTCOMES}
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
FALSE_DISCOVERY_RATE = 0.05
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
    """

    groups: pd.DataFrame
    measures: pd.DataFrame
    breakdown: pd.DataFrame
    reference: str
    drill: str | None
    national: bool
    tests: int
    flagged: int


def _checked_reference(split: str, reference: str | None, drill: str | None) -> str:
    if split not in contract.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(contract.SPLITS)}")
    if drill is not None and drill not in contract.SPLITS[split].groups:
        raise ValueError(f"{drill!r} is not a group of the {contract.SPLITS[split].phrase} split")
    reference = reference or default_reference(split)
    if contract.is_unknown_group(reference):
        raise ValueError(f"{reference!r} cannot be a reference group: it is a 'not stated' or 'not known' group")
    return reference


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


def _blank_where_reference_hidden(
    shown: pd.DataFrame, exact: pd.DataFrame, count: str, within: list[str], columns: list[str], rule: Rule
) -> None:
    """Blank comparisons (in place) in blocks where the reference group's count is hidden: their denominator."""
    hidden = exact["is_reference"] & exact[count].between(1, rule.suppress_max)
    blocks = exact.loc[hidden, within].drop_duplicates()
    if blocks.empty:
        return
    in_block = exact[within].merge(blocks, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    shown.loc[in_block & ~shown["is_reference"].to_numpy(), [c for c in columns if c in shown]] = math.nan


def _hide_comparisons(
    shown: pd.DataFrame, exact: pd.DataFrame, count: str, within: list[str], columns: list[str], rule: Rule
) -> None:
    """Below national level: blank comparisons whose reference count is hidden, and unflag blanked tests."""
    _blank_where_reference_hidden(shown, exact, count, within, columns, rule)
    if "flagged" in shown:
        shown["flagged"] = shown["flagged"].where(shown["p_value"].notna(), None)


def _disclose_proportions(table: pd.DataFrame, *, national: bool, rule: Rule, within: list[str]) -> pd.DataFrame:
    """Counts suppressed or rounded; each proportion, bound, ratio and p-value from a hidden count blanked.

    The denominator counts too: an interval's width would give a hidden denominator away.
    """
    derived = [c for c in ("proportion", "lower", "upper", "rr", "rr_lower", "rr_upper", "p_value") if c in table]
    out = disclose(
        table,
        counts=["events", "denominator"],
        depends_on={c: ["events", "denominator"] for c in derived},
        national=national,
        rule=rule,
    )
    if not national:
        _hide_comparisons(out, table, "events", within, ["rr", "rr_lower", "rr_upper", "p_value"], rule)
    return out


def outcomes_view(
    db: Database,
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
    reference = _checked_reference(split, reference, drill)
    rule = rule or Rule()
    national = filters.is_national
    query = get_query("outcomes_by_group")

    def run(breakdown: str) -> pd.DataFrame:
        return db.run(query.name, {"split": split, "breakdown": breakdown, **filters.params(query.params)})

    counts = run("none")
    measures = _compare_proportions(_outcome_grid(counts), split, reference, test=True).drop(columns="level")
    tested = measures["p_value"].notna()
    flags = pd.Series(stats.benjamini_hochberg(measures["p_value"].tolist(), alpha=FALSE_DISCOVERY_RATE))
    measures["flagged"] = flags.astype(object).where(tested, None)

    groups = _group_sizes(counts).drop(columns="level").rename(columns={"grp": "group"})
    groups = groups.sort_values("group", key=lambda s: order_groups(s, split), kind="stable", ignore_index=True)
    groups["open"] = groups["cases"] - groups["closed"]
    groups["is_reference"] = groups["group"] == reference
    groups = disclose(groups, counts=["cases", "closed", "open"], national=national, rule=rule)

    shown = _disclose_proportions(measures, national=national, rule=rule, within=["measure"])
    breakdown = pd.DataFrame()
    if drill is not None:
        if drill != reference:
            shown = shown[shown["group"].isin([drill, reference])].reset_index(drop=True)
        parts = []
        for dimension, labels in _LEVEL_LABELS.items():
            grid = _outcome_grid(run(dimension))
            grid = grid[grid["grp"].isin([drill, reference]) & grid["measure"].isin(KEY_OUTCOMES)]
            if dimension == "concern" and filters.concerns:
                grid = grid[grid["level"].isin(filters.concerns)]
            if grid.empty:
                continue
            part = _compare_proportions(grid, split, reference, test=False)
            part = part.drop(columns=["p_value", "test"])
            rank = {level: i for i, level in enumerate(labels)}
            part = part.sort_values("level", key=lambda s: s.map(rank), kind="stable")
            part.insert(0, "level_label", part["level"].map(labels).fillna(part["level"]))
            part.insert(0, "dimension", dimension)
            # Organisation types and regions are below national level whatever the filters.
            local = national and dimension == "concern"
            parts.append(_disclose_proportions(part, national=local, rule=rule, within=["level", "measure"]))
        if parts:
            breakdown = pd.concat(parts, ignore_index=True)
    return OutcomesView(
        groups=groups,
        measures=shown,
        breakdown=breakdown,
        reference=reference,
        drill=drill,
        national=national,
        tests=int(tested.sum()),
        flagged=int(shown["flagged"].eq(True).sum()),
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
    out = disclose(
        summary,
        counts=["n", "events", "censored"],
        depends_on={c: ["n"] for c in (*_SURVIVAL_DERIVED, "p_value") if c in summary},
        national=national,
        rule=rule,
    )
    if not national:
        _hide_comparisons(out, summary, "n", within, ["p_value"], rule)
    return out


def durations_view(
    db: Database,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    rule: Rule | None = None,
) -> DurationsView:
    """All the Durations page's numbers for one view: two grouped queries (five with a drill) and load_meta.

    Kaplan–Meier curves of referral to closure (open cases censored at the extract date) and of
    exclusion and suspension episodes (ongoing ones censored there), by group; each group's curve is
    compared with the reference's by a log-rank test, and Benjamini–Hochberg controls the false
    discovery rate across all of them. SQL returns distinct (days, status) with counts; they are
    expanded to individual durations for ``parity.stats``.
    """
    reference = _checked_reference(split, reference, drill)
    rule = rule or Rule()
    national = filters.is_national

    def run(name: str, breakdown: str) -> pd.DataFrame:
        query = get_query(name)
        return db.run(name, {"split": split, "breakdown": breakdown, **filters.params(query.params)})

    meta = db.run("load_meta").set_index("key")["value"]
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
    tested = summary["p_value"].notna()
    flags = pd.Series(stats.benjamini_hochberg(summary["p_value"].tolist(), alpha=FALSE_DISCOVERY_RATE))
    summary["flagged"] = flags.astype(object).where(tested, None) if len(summary) else []
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
    ]
    curve = (
        pd.concat(curves, ignore_index=True)[[*curve_columns, "is_reference"]]
        if curves
        else pd.DataFrame(columns=[*curve_columns, "is_reference"])
    )
    breakdown = pd.DataFrame()
    if drill is not None:
        keep = [drill, reference]
        if drill != reference:
            summary = summary[summary["group"].isin(keep)].reset_index(drop=True)
            curve = curve[curve["group"].isin(keep)].reset_index(drop=True)
        parts = []
        for dimension, labels in _LEVEL_LABELS.items():
            rows = run("durations_by_group", dimension)
            rows = rows[rows["grp"].isin(keep)]
            if dimension == "concern" and filters.concerns:
                rows = rows[rows["level"].isin(filters.concerns)]
            if rows.empty:
                continue
            part, _ = _survival_by_group(rows, "closed", ["level"], split, reference, test=False)
            part = part.drop(columns="p_value")
            rank = {level: i for i, level in enumerate(labels)}
            part = part.sort_values("level", key=lambda s: s.map(rank), kind="stable")
            part.insert(0, "level_label", part["level"].map(labels).fillna(part["level"]))
            part.insert(0, "dimension", dimension)
            local = national and dimension == "concern"
            parts.append(_disclose_survival(part, national=local, rule=rule, within=["level"]))
        if parts:
            breakdown = pd.concat(parts, ignore_index=True)
    risk = _risk_table(curve)
    shown = _disclose_survival(summary, national=national, rule=rule, within=["measure"])
    return DurationsView(
        summary=shown,
        curves=disclose(curve, counts=["at_risk", "events", "censored"], national=national, rule=rule),
        risk_table=disclose(risk, counts=["at_risk"], national=national, rule=rule),
        breakdown=breakdown,
        extract_date=str(meta.get("extract_date", "")),
        reference=reference,
        drill=drill,
        national=national,
        tests=int(tested.sum()),
        flagged=int(shown["flagged"].eq(True).sum()) if len(shown) else 0,
    )


# --- Organisation page -------------------------------------------------------------------------

# Overdispersion is allowed for only with at least this many organisations (design §4, as FunnelPlotR).
MIN_ORGS_FOR_OVERDISPERSION = 15
ANOTHER_ORGANISATION = "Another organisation"
_FUNNEL_LIMITS = ("lower_95", "upper_95", "lower_998", "upper_998")


@dataclass(frozen=True)
class OrganisationView:
    """Every number the Organisation page shows, after disclosure control (organisations are below national level).

    ``funnel``: one row per organisation with practitioners of ``group``: org_code, org_name (None where the
    viewer may not see it), label (the name, or "Another organisation"), cases, headcount (practitioner-years),
    rate (per 1,000), the 95% and 99.8% limits at its headcount (per 1,000: lower_95, upper_95, lower_998,
    upper_998), significance (``stats.funnel_significance`` labels), outlier (beyond a 99.8% limit),
    is_selected, suppressed. A hidden count blanks the rate and its judgement.
    ``limits``: the funnel's curves: headcount and the four limits per 1,000.
    ``average``: the comparator's rate per 1,000 for ``group`` (pooled over every organisation shown).
    ``adjusted``: whether the limits allow for overdispersion (φ > 1 and at least 15 organisations); ``phi``.
    ``org_groups``: for the selected organisation, one row per group: the columns of ``summarise_rates``
    (relative likelihood within the organisation against the reference), national_rate, national_lower,
    national_upper, expected, isr, isr_lower, isr_upper (observed ÷ expected from the comparator's rates by
    profession in that group), suppressed. Empty without a selected organisation.
    ``isr``: the selected organisation's ratio for all its referrals, expected from the comparator's rates by
    profession and group (NaN where its count is hidden), with ``observed`` (disclosed) and ``expected``.
    """

    group: str
    reference: str
    funnel: pd.DataFrame
    limits: pd.DataFrame
    average: float
    adjusted: bool
    phi: float
    organisations: int
    selected: str | None
    selected_name: str | None
    org_groups: pd.DataFrame
    isr: stats.Ratio
    observed: float
    expected: float
    comparator_national: bool


def default_funnel_group(national: pd.DataFrame) -> str | None:
    """The group a funnel shows by default: the known, non-reference group with the largest national RL."""
    rows = national[~national["is_reference"].astype(bool) & ~national["group"].map(contract.is_unknown_group)]
    rows = rows[pd.to_numeric(rows["rl"], errors="coerce").notna()]
    if rows.empty:
        return None
    return str(rows.loc[pd.to_numeric(rows["rl"]).idxmax(), "group"])


def _funnel_band(proportion: float, limits: dict[float, tuple[float, float]]) -> str:
    for level, high, low in stats.FUNNEL_BANDS:
        lower, upper = limits[level]
        if proportion > upper:
            return high
        if proportion < lower:
            return low
    return "similar"


def _limits(n: float, average: float, level: float, tau2: float | None) -> tuple[float, float]:
    if tau2 is None:
        return stats.proportion_funnel_limits(n, average, level)
    return stats.adjusted_proportion_funnel_limits(n, average, level, tau2)


def _funnel(counts: pd.DataFrame, selected: str | None) -> tuple[pd.DataFrame, pd.DataFrame, float, bool, float]:
    """Per-organisation proportions for one group against their pooled average, with (adjusted) funnel limits."""
    orgs = counts.groupby("org_code", as_index=False).agg(
        org_name=("org_name", "first"), cases=("cases", "sum"), headcount=("headcount", "sum")
    )
    orgs = orgs[(orgs["headcount"] > 0) & (orgs["cases"] <= orgs["headcount"])].reset_index(drop=True)
    columns = [
        "org_code",
        "org_name",
        "label",
        "cases",
        "headcount",
        "rate",
        *_FUNNEL_LIMITS,
        "significance",
        "outlier",
        "is_selected",
    ]
    if orgs.empty:
        return (
            pd.DataFrame(columns=columns),
            pd.DataFrame(columns=["headcount", *_FUNNEL_LIMITS]),
            math.nan,
            False,
            math.nan,
        )
    average = float(orgs["cases"].sum() / orgs["headcount"].sum())
    phi, tau2 = math.nan, None
    if len(orgs) >= MIN_ORGS_FOR_OVERDISPERSION:
        spread = stats.overdispersion(orgs["cases"], orgs["headcount"], kind="proportion")
        phi = spread.phi
        if spread.phi > 1:
            tau2 = spread.tau2
    rows = []
    for org in orgs.itertuples(index=False):
        limits = {level: _limits(org.headcount, average, level, tau2) for level in (0.95, 0.998)}
        proportion = org.cases / org.headcount
        band = _funnel_band(proportion, limits)
        rows.append(
            {
                "org_code": org.org_code,
                "org_name": org.org_name if isinstance(org.org_name, str) else None,
                "label": org.org_name if isinstance(org.org_name, str) else ANOTHER_ORGANISATION,
                "cases": int(org.cases),
                "headcount": int(org.headcount),
                "rate": proportion * 1000,
                "lower_95": limits[0.95][0] * 1000,
                "upper_95": limits[0.95][1] * 1000,
                "lower_998": limits[0.998][0] * 1000,
                "upper_998": limits[0.998][1] * 1000,
                "significance": band,
                "outlier": band.endswith("99.8"),
                "is_selected": org.org_code == selected,
            }
        )
    grid = np.unique(np.geomspace(max(1.0, orgs["headcount"].min() * 0.8), orgs["headcount"].max() * 1.1, 200))
    curve = pd.DataFrame(
        [
            {
                "headcount": n,
                **dict(zip(_FUNNEL_LIMITS[:2], (v * 1000 for v in _limits(n, average, 0.95, tau2)), strict=True)),
                **dict(zip(_FUNNEL_LIMITS[2:], (v * 1000 for v in _limits(n, average, 0.998, tau2)), strict=True)),
            }
            for n in grid
        ]
    )
    return pd.DataFrame(rows, columns=columns), curve, average * 1000, tau2 is not None, phi


def _expected(org_rows: pd.DataFrame, rates: pd.DataFrame) -> pd.Series:
    """Expected referrals per row of ``org_rows`` (profession, grp, headcount) at the comparator's rates."""
    merged = org_rows.merge(rates, on=["profession", "grp"], how="left")
    return (merged["headcount"] * merged["national_proportion"].fillna(0.0)).set_axis(org_rows.index)


def organisation_view(
    db: Database,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    org: str | None = None,
    group: str | None = None,
    scope_org: str | None = None,
    rule: Rule | None = None,
) -> OrganisationView:
    """All the Organisation page's numbers: one query over every organisation (the organisation filter picks
    the organisation to compare, it does not narrow the funnel).

    ``org`` is the organisation to set beside the comparator (default: the filter's single organisation, else
    ``scope_org``). ``group`` is the funnel's group (default: ``default_funnel_group``). ``scope_org`` is an
    employer's own organisation: every other organisation stays unnamed. The comparator is national unless a
    region or organisation type is chosen, when it is every organisation in them.
    """
    if split not in contract.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(contract.SPLITS)}")
    reference = reference or default_reference(split)
    rule = rule or Rule()
    if org is None:
        org = filters.orgs[0] if len(filters.orgs) == 1 else scope_org
    if scope_org is not None and org not in (None, scope_org):
        raise ValueError("an employer's view compares its own organisation only")
    everywhere = replace(filters, orgs=())
    query = get_query("referrals_by_org")
    counts = db.run(query.name, {"split": split, **everywhere.params(query.params), "scope_org": scope_org})
    comparator_national = everywhere.is_national

    national = summarise_rates(counts.groupby("grp", as_index=False)[["cases", "headcount"]].sum(), split, reference)
    if group is None:
        group = default_funnel_group(national) or reference
    elif group not in contract.SPLITS[split].groups:
        raise ValueError(f"{group!r} is not a group of the {contract.SPLITS[split].phrase} split")
    funnel, curve, average, adjusted, phi = _funnel(counts[counts["grp"] == group], org)
    funnel = disclose(
        funnel,
        counts=["cases", "headcount"],
        depends_on={"rate": ["cases"], "significance": ["cases"]},
        national=False,
        rule=rule,
    )
    funnel.loc[funnel["suppressed"], "outlier"] = False

    by_profession = counts.groupby(["profession", "grp"], as_index=False)[["cases", "headcount"]].sum()
    by_profession["national_proportion"] = by_profession["cases"] / by_profession["headcount"].where(
        by_profession["headcount"] > 0
    )
    rates = by_profession[["profession", "grp", "national_proportion"]]

    selected_name = None
    org_groups = pd.DataFrame()
    isr, observed, expected = stats.Ratio(math.nan, math.nan, math.nan), math.nan, math.nan
    if org is not None:
        mine = counts[counts["org_code"] == org].copy()
        names = mine["org_name"].dropna()
        selected_name = str(names.iloc[0]) if len(names) else org
        if not mine.empty:
            mine["expected"] = _expected(mine, rates)
            per_group = mine.groupby("grp", as_index=False)[["cases", "headcount", "expected"]].sum()
            org_groups = summarise_rates(per_group, split, reference)
            org_groups = org_groups.merge(
                per_group[["grp", "expected"]].rename(columns={"grp": "group"}), on="group", how="left"
            )
            comparator = national.set_index("group")
            for column in ("rate", "rate_lower", "rate_upper"):
                org_groups[f"national_{column.replace('rate', '').strip('_') or 'rate'}"] = org_groups["group"].map(
                    comparator[column]
                )
            ratios = [
                stats.indirectly_standardised_ratio(c, e) if e > 0 else stats.Ratio(math.nan, math.nan, math.nan)
                for c, e in zip(org_groups["cases"], org_groups["expected"], strict=True)
            ]
            org_groups["isr"] = [r.value for r in ratios]
            org_groups["isr_lower"] = [r.lower for r in ratios]
            org_groups["isr_upper"] = [r.upper for r in ratios]
            org_groups = disclose_summary(org_groups, national=False, rule=rule)
            org_groups.loc[org_groups["suppressed"], ["isr", "isr_lower", "isr_upper"]] = math.nan
            observed, expected = float(mine["cases"].sum()), float(mine["expected"].sum())
            if expected > 0:
                isr = stats.indirectly_standardised_ratio(observed, expected)
            if 0 < observed <= rule.suppress_max:
                isr = stats.Ratio(math.nan, math.nan, math.nan)
            observed = round_count(observed, rule)

    return OrganisationView(
        group=group,
        reference=reference,
        funnel=funnel,
        limits=curve,
        average=average,
        adjusted=adjusted,
        phi=phi,
        organisations=len(funnel),
        selected=org,
        selected_name=selected_name,
        org_groups=org_groups,
        isr=isr,
        observed=observed,
        expected=expected,
        comparator_national=comparator_national,
    )

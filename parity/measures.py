"""Measures: named queries turned into the numbers Parity shows, with their intervals.

This is the one code path behind the dashboard pages and the summary CLI: SQL counts and sums,
``parity.stats`` computes every interval, ratio and test, and this module puts them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from parity import contract, stats
from parity.db import Database, get_query
from parity.disclosure import Rule, disclose
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
    hidden_ratio = out["rl"].isna() & ~out["is_reference"]
    out[["in_band", "significant", "direction"]] = out[["in_band", "significant", "direction"]].astype(object)
    out.loc[hidden_ratio, ["in_band", "significant", "direction"]] = None
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
        raise ValueError(f"{drill!r} is not a group of the {contract.SPLITS[split].label.lower()} split")
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

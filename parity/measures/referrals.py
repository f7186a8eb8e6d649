"""Referral rates per 1,000 practitioners and relative likelihoods of referral: the Overview, the Concern rates
page and the summary CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures.adjusted import Adjustment, adjusted_relative_likelihoods, ethnicity_pmq_interaction, with_adjusted
from parity.measures.common import (
    FALSE_DISCOVERY_RATE,
    SMALL_NUMBERS,
    QueryLog,
    RunsQueries,
    checked_reference,
    disclose_summary,
    drill_breakdown,
    order_groups,
    run_split_query,
)

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
    "band",
)

# Rolling windows offered for small groups: financial years per window (1: each year on its own).
WINDOWS: tuple[int, ...] = (1, 3, 5)


def referral_summary(runner: RunsQueries, filters: Filters, split: str, reference: str | None = None) -> pd.DataFrame:
    """Referral rate per 1,000 and relative likelihood against the reference group, one row per group.

    Columns: SUMMARY_COLUMNS, then ``direction`` and ``small_numbers``. Groups with neither cases nor
    headcount are absent. The reference is never a "not stated" or "not known" group.
    """
    reference = checked_reference(split, reference)
    return summarise_rates(run_split_query(runner, "referrals_by_group", filters, split), split, reference)


def summarise_rates(counts: pd.DataFrame, split: str, reference: str, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """From (grp, cases, headcount) rows to rates, RLs and their judgements.

    With ``by`` columns, within each block of them, each against its block's reference group, in one pass: blocks
    keep the order in which they first appear, and the rows start with the ``by`` columns. Groups follow the
    split's order.
    """
    by = tuple(by)
    columns = [*by, *SUMMARY_COLUMNS, "direction", "small_numbers", "p_value"]
    counts = counts[(counts["cases"] > 0) | (counts["headcount"] > 0)]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    keys = list(zip(*(counts[b] for b in by), strict=True)) if by else [()] * len(counts)
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


def rate_row(grp: str, cases: int, headcount: int, ref_cases: int, ref_head: int, is_reference: bool) -> dict:
    """One group's rate, interval, RL against the reference's counts and judgement: a row of ``summarise_rates``.

    ``p_value``: the Wald test that matches the RL's Katz interval (``stats.risk_ratio_test``); NaN for the
    reference, for "not stated" and "not known" groups (data quality, not tested) and where no ratio is computed.
    """
    if headcount > 0 and cases <= headcount:
        rate = cases / headcount * 1000
        rate_lower, rate_upper = stats.rate_interval(cases, headcount, per=1000)
    else:
        rate = rate_lower = rate_upper = math.nan
    if is_reference or ref_head == 0 or headcount == 0 or ref_cases == 0 or cases > headcount:
        ratio = stats.Ratio(1.0 if is_reference else math.nan, math.nan, math.nan)
        judgement = (
            stats.Judgement(in_band=True, significant=False, direction="similar", band=None) if is_reference else None
        )
    else:
        ratio = stats.risk_ratio(cases, headcount, ref_cases, ref_head)
        judgement = stats.ratio_judgement(ratio)
    tested = judgement is not None and not is_reference and not contract.is_unknown_group(grp)
    p_value = stats.risk_ratio_test(cases, headcount, ref_cases, ref_head).p_value if tested else math.nan
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
        "band": judgement.band if judgement else None,
        "direction": judgement.direction if judgement else None,
        "small_numbers": cases < SMALL_NUMBERS,
        "p_value": p_value,
    }


def disclosed_referral_summary(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None,
    rule: Rule,
    adjust_for: Sequence[str] | None = (),
) -> pd.DataFrame:
    """``referral_summary`` after disclosure control (below national level): what every view shows.

    With ``adjust_for`` (None: every characteristic) the adjusted relative likelihoods sit beside the crude.
    """
    return adjusted_referral_summary(runner, filters, split, reference, rule, adjust_for)[0]


def adjusted_referral_summary(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None,
    rule: Rule,
    adjust_for: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, Adjustment]:
    """``referral_summary`` with the adjusted relative likelihoods beside the crude ones (columns of
    ``measures.adjusted.ADJUSTED_COLUMNS``, empty when nothing is adjusted for), after disclosure control; and
    the model's account of what it adjusted for."""
    reference = checked_reference(split, reference)
    summary = referral_summary(runner, filters, split, reference)
    adjustment = (
        Adjustment.none()
        if adjust_for is not None and not adjust_for
        else adjusted_relative_likelihoods(runner, filters, split, reference, adjust_for)
    )
    summary = with_adjusted(summary, adjustment)
    return disclose_summary(summary, national=filters.is_national, rule=rule), adjustment


# --- Overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewView:
    """Every number the Overview page shows, after disclosure control: tables of ``summarise_rates`` rows plus
    ``suppressed``.

    ``summary``: one row per group of the chosen split, against the chosen reference.
    ``minority``: ethnic minority (excluding White minorities) against White, the first headline.
    ``graduates``: by place of primary qualification against UK graduates, the second headline.
    Each has the adjusted relative likelihoods beside the crude; ``adjustments`` says, for each table by the
    same name, what its model adjusted for.
    """

    summary: pd.DataFrame
    minority: pd.DataFrame
    graduates: pd.DataFrame
    queries: tuple[str, ...]
    adjustments: dict[str, Adjustment] = field(default_factory=dict)


def overview_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    rule: Rule | None = None,
    adjust_for: Sequence[str] | None = None,
) -> OverviewView:
    """All the Overview's numbers: the chosen split's rates and the two headlines, one grouped query each, and
    (unless ``adjust_for`` is empty) the adjusted relative likelihoods, one query of cells each."""
    rule = rule or Rule()
    log = QueryLog(runner)
    tables: dict[str, pd.DataFrame] = {}
    adjustments: dict[str, Adjustment] = {}
    for name, table_split, table_reference in (
        ("summary", split, reference),
        ("minority", "ethnic_minority", contract.WHITE),
        ("graduates", "pmq_region", contract.PMQ_REGIONS["UK"]),
    ):
        tables[name], adjustments[name] = adjusted_referral_summary(
            log, filters, table_split, table_reference, rule, adjust_for
        )
    return OverviewView(**tables, queries=log.names, adjustments=adjustments)


# --- Concern rates -----------------------------------------------------------------------------


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
    ``queries``: the named queries run, in order.
    ``summary``, ``intersection``, ``within_pmq`` and ``concerns`` also have ``p_value`` (the test matching the
    RL's interval) and ``flagged`` (Benjamini–Hochberg across all four tables' comparisons at once, so that the
    number of comparisons on the page does not by itself produce flags; None where untested); ``tests`` and
    ``flags`` count them (before disclosure control, which can hide a flag but not change the family).
    ``adjustment``: what the adjusted relative likelihoods in ``summary`` adjust for (``Adjustment.none()``
    without adjustment); ``interaction``: the test of whether the ethnicity gap differs by place of
    qualification, adjusted for the same characteristics (none without adjustment).
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
    queries: tuple[str, ...]
    adjustment: Adjustment = field(default_factory=Adjustment.none)
    interaction: stats.NestedTest | None = None
    tests: int = 0
    flags: int = 0


def _intersection_tables(crossed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the ethnicity × PMQ summary: it with ``ethnic_group`` and ``pmq`` columns, and each cell against
    White practitioners of the same place of qualification."""
    parts = crossed["group"].str.split(" · ", n=1, expand=True) if len(crossed) else pd.DataFrame({0: [], 1: []})
    crossed = crossed.copy()
    crossed.insert(0, "pmq", parts[1])
    crossed.insert(0, "ethnic_group", parts[0])
    counts = crossed[["pmq", "ethnic_group", "cases", "headcount"]].rename(columns={"ethnic_group": "grp"})
    within = summarise_rates(counts, "ethnic_group", contract.WHITE, by=("pmq",))
    within = within.rename(columns={"group": "ethnic_group"})
    within.insert(2, "group", within["ethnic_group"] + " · " + within["pmq"])
    rank = {p: i for i, p in enumerate(contract.PMQ_REGIONS.values())}
    within = within.sort_values("pmq", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)
    return crossed, within


def _flag_family(*tables: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """``flagged``: Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across every comparison of the Concern rates
    screen (the split, the ethnicity × place of qualification cells both ways, and each concern type), one family;
    None where there was no test. The trend, a series over time, and a drill's breakdown are not in it."""
    p_values = pd.concat(
        [t["p_value"].astype(float) for t in tables if len(t)] or [pd.Series(dtype=float)], ignore_index=True
    )
    flags = pd.Series(stats.benjamini_hochberg(p_values.tolist(), alpha=FALSE_DISCOVERY_RATE), dtype=object)
    flags = flags.where(p_values.notna(), None)
    out, start = [], 0
    for table in tables:
        part = flags.iloc[start : start + len(table)].set_axis(table.index)
        out.append(table.assign(flagged=part))
        start += len(table)
    return tuple(out)


def _window_label(start: int, end: int) -> str:
    if start == end:
        return contract.financial_year_label(end)
    return f"{contract.financial_year_label(start)} to {contract.financial_year_label(end)}"


def concern_rates_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    window: int = 1,
    drill: str | None = None,
    rule: Rule | None = None,
    adjust_for: Sequence[str] | None = None,
) -> ConcernRatesView:
    """All the Concern rates page's numbers for one view: four grouped queries, five with a drill, and the
    cells the adjusted relative likelihoods and the interaction test are modelled on.

    ``window`` is the rolling window of the trend in financial years (one of ``WINDOWS``); ``drill`` a
    group of the split to break down by organisation type, region and concern type against the
    reference group. Breakdowns by organisation type and region are always below national level.
    ``adjust_for``: the characteristics the adjusted relative likelihoods hold equal (None: all; empty: none).
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(map(str, WINDOWS))} financial years, not {window!r}")
    reference = checked_reference(split, reference, drill)
    rule = rule or Rule()
    national = filters.is_national
    log = QueryLog(runner)

    summary = referral_summary(log, filters, split, reference)
    adjusting = adjust_for is None or bool(adjust_for)
    adjustment = (
        adjusted_relative_likelihoods(log, filters, split, reference, adjust_for) if adjusting else Adjustment.none()
    )
    cross = contract.SPLITS["ethnicity_pmq"].default_reference
    intersection = (
        summary.copy()
        if split == "ethnicity_pmq" and reference == cross
        else referral_summary(log, filters, "ethnicity_pmq", cross)
    )
    intersection, within_pmq = _intersection_tables(intersection)

    concern_counts = run_split_query(log, "referrals_by_group_concern", filters, split)
    concerns = summarise_rates(concern_counts, split, reference, by=("concern",))
    order = {c: i for i, c in enumerate(contract.CONCERN_TYPES)}
    concerns = concerns.sort_values("concern", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    concerns.insert(1, "concern_label", concerns["concern"].map(contract.CONCERN_TYPES))

    yearly = run_split_query(log, "referrals_by_group_year", filters, split, window=window)
    trend = summarise_rates(yearly, split, reference, by=("fy_start", "window_start"))
    trend = trend.sort_values(["fy_start"], kind="stable").reset_index(drop=True)
    trend.insert(
        2, "period", [_window_label(s, e) for s, e in zip(trend["window_start"], trend["fy_start"], strict=True)]
    )

    breakdown = pd.DataFrame()
    if drill is not None:
        counts = run_split_query(
            log, "referrals_by_group_breakdown", filters, split, drill_group=drill, reference=reference
        )
        breakdown = drill_breakdown(
            lambda dimension: counts[counts["dimension"] == dimension],
            lambda rows, local: disclose_summary(
                summarise_rates(rows, split, reference, by=("level",)), national=local, rule=rule, within=("level",)
            ),
            drill=drill,
            reference=reference,
            filters=filters,
        )
    if breakdown.empty:
        breakdown = pd.DataFrame(columns=["dimension", "level", "level_label", *SUMMARY_COLUMNS, "suppressed"])

    interaction = ethnicity_pmq_interaction(log, filters, adjust_for)
    if split == "ethnicity_pmq" and reference == cross:  # the same comparisons twice: one family member each
        summary, within_pmq, concerns = _flag_family(summary, within_pmq, concerns)
        intersection = intersection.assign(flagged=summary["flagged"].to_numpy())
        family = (summary, within_pmq, concerns)
    else:
        summary, intersection, within_pmq, concerns = _flag_family(summary, intersection, within_pmq, concerns)
        family = (summary, intersection, within_pmq, concerns)
    tests = sum(int(t["p_value"].notna().sum()) for t in family)
    flags = sum(int(t["flagged"].eq(True).sum()) for t in family)

    return ConcernRatesView(
        summary=disclose_summary(with_adjusted(summary, adjustment), national=national, rule=rule),
        intersection=disclose_summary(intersection, national=national, rule=rule),
        within_pmq=disclose_summary(within_pmq, national=national, rule=rule, within=("pmq",)),
        concerns=disclose_summary(concerns, national=national, rule=rule, within=("concern",)),
        trend=disclose_summary(trend, national=national, rule=rule, within=("fy_start",)),
        breakdown=breakdown,
        national=national,
        window=window,
        drill=drill,
        queries=log.names,
        adjustment=adjustment,
        interaction=interaction,
        tests=tests,
        flags=flags,
    )

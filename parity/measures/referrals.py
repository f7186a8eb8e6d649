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
    BREAKDOWNS,
    FALSE_DISCOVERY_RATE,
    SMALL_NUMBERS,
    Coverage,
    Family,
    QueryLog,
    RunsQueries,
    checked_reference,
    default_viewer,
    drill_breakdown,
    order_groups,
    run_split_query,
    uncovered_cases,
)
from parity.measures.trends import DEFAULT_TARGET, trends_view
from parity.viewer import Viewer

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


def referral_summary(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
) -> pd.DataFrame:
    """Referral rate per 1,000 and relative likelihood against the reference group, one row per group, for the
    viewer (protected by default: every figure from the protected counts).

    Columns: SUMMARY_COLUMNS, then ``direction``, ``small_numbers`` and ``suppressed``. Groups with neither cases
    nor headcount are absent. The reference is never a "not stated" or "not known" group.
    """
    reference = checked_reference(split, reference)
    family = Family()
    family.add("summary", run_split_query(runner, "referrals_by_group", filters, split), split)
    shown = family.protect(default_viewer(viewer), rule or Rule())
    return summarise_rates(shown["summary"], split, reference)


def summarise_rates(counts: pd.DataFrame, split: str, reference: str, by: tuple[str, ...] = ()) -> pd.DataFrame:
    """From (grp, cases, headcount) rows to rates, RLs and their judgements.

    The counts are the viewer's (``Family.protect``): a hidden count is NaN, and every figure that needs it is
    NaN too. With ``by`` columns, within each block of them, each against its block's reference group, in one
    pass: blocks keep the order in which they first appear, and the rows start with the ``by`` columns. Groups
    follow the split's order. A ``suppressed`` column is carried through (False where absent).
    """
    by = tuple(by)
    columns = [*by, *SUMMARY_COLUMNS, "direction", "small_numbers", "p_value", "suppressed"]
    counts = counts[~((counts["cases"] == 0) & (counts["headcount"] == 0))]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    suppressed = counts["suppressed"] if "suppressed" in counts else pd.Series(False, index=counts.index)
    keys = list(zip(*(counts[b] for b in by), strict=True)) if by else [()] * len(counts)
    block_rank = {key: i for i, key in reversed(list(enumerate(keys)))}
    group_rank = order_groups(counts["grp"], split)
    refs = {
        key: (float(c), float(h))
        for key, g, c, h in zip(keys, counts["grp"], counts["cases"], counts["headcount"], strict=True)
        if g == reference
    }
    records = sorted(
        zip(keys, counts["grp"], counts["cases"], counts["headcount"], group_rank, suppressed, strict=True),
        key=lambda r: (block_rank[r[0]], r[4]),
    )
    rows = []
    for key, grp, cases, headcount, _, hidden in records:
        ref_cases, ref_head = refs.get(key, (0.0, 0.0))
        row = rate_row(grp, float(cases), float(headcount), ref_cases, ref_head, grp == reference)
        rows.append({**dict(zip(by, key, strict=True)), **row, "suppressed": bool(hidden)})
    return pd.DataFrame(rows, columns=columns)


def _count(n: float) -> float | int:
    return n if math.isnan(n) else int(n)


def rate_row(grp: str, cases: float, headcount: float, ref_cases: float, ref_head: float, is_reference: bool) -> dict:
    """One group's rate, interval, RL against the reference's counts and judgement: a row of ``summarise_rates``.

    A NaN count (hidden) leaves every figure computed from it NaN. ``p_value``: the Wald test that matches the
    RL's Katz interval (``stats.risk_ratio_test``), from the same (viewer's) counts; NaN for the reference, for
    "not stated" and "not known" groups (data quality, not tested) and where no ratio is computed."""
    known = not any(math.isnan(x) for x in (cases, headcount))
    ref_known = not any(math.isnan(x) for x in (ref_cases, ref_head))
    if known and headcount > 0 and cases <= headcount:
        rate = cases / headcount * 1000
        rate_lower, rate_upper = stats.rate_interval(int(cases), int(headcount), per=1000)
    else:
        rate = rate_lower = rate_upper = math.nan
    if is_reference and not known:  # a hidden reference: no ratio to show, not even its own 1
        ratio, judgement = stats.Ratio(math.nan, math.nan, math.nan), None
    elif (
        is_reference
        or not (known and ref_known)
        or ref_head == 0
        or headcount == 0
        or ref_cases == 0
        or cases > headcount
    ):
        ratio = stats.Ratio(1.0 if is_reference else math.nan, math.nan, math.nan)
        judgement = (
            stats.Judgement(in_band=True, significant=False, direction="similar", band=None) if is_reference else None
        )
    else:
        ratio = stats.risk_ratio(int(cases), int(headcount), int(ref_cases), int(ref_head))
        judgement = stats.ratio_judgement(ratio)
    tested = judgement is not None and not is_reference and not contract.is_unknown_group(grp)
    p_value = (
        stats.risk_ratio_test(int(cases), int(headcount), int(ref_cases), int(ref_head)).p_value if tested else math.nan
    )
    return {
        "group": grp,
        "cases": _count(cases),
        "headcount": _count(headcount),
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
        "small_numbers": not cases >= SMALL_NUMBERS,
        "p_value": p_value,
    }


def disclosed_referral_summary(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None,
    rule: Rule,
    viewer: Viewer | None = None,
    adjust_for: Sequence[str] | None = (),
) -> pd.DataFrame:
    """``referral_summary`` for a viewer (the summary CLI's table).

    With ``adjust_for`` (None: every characteristic) the adjusted relative likelihoods sit beside the crude, at
    the full level only (``adjusted_referral_summary``).
    """
    return adjusted_referral_summary(runner, filters, split, reference, rule, adjust_for, viewer=viewer)[0]


def adjusted_referral_summary(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None,
    rule: Rule,
    adjust_for: Sequence[str] | None = None,
    *,
    viewer: Viewer | None = None,
) -> tuple[pd.DataFrame, Adjustment]:
    """``referral_summary`` for a viewer with the adjusted relative likelihoods beside the crude ones (columns of
    ``measures.adjusted.ADJUSTED_COLUMNS``, empty when nothing is adjusted for), and the model's account of what
    it adjusted for.

    The model is fitted at the full level only: a regression on perturbed and rounded cells means nothing, and
    one on exact cells would compute a protected number from exact counts. At the protected level the adjusted
    columns are empty and the account is ``Adjustment.withheld_from_protected()``.
    """
    reference = checked_reference(split, reference)
    viewer = default_viewer(viewer)
    summary = referral_summary(runner, filters, split, reference, viewer=viewer, rule=rule)
    adjustment = viewer_adjustment(runner, filters, split, reference, adjust_for, viewer)
    return with_adjusted(summary, adjustment), adjustment


def viewer_adjustment(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str,
    adjust_for: Sequence[str] | None,
    viewer: Viewer,
) -> Adjustment:
    """The adjusted relative likelihoods a viewer may see: fitted (or reused) at the full level, withheld at the
    protected level, none when nothing is chosen."""
    if viewer.protected:
        return Adjustment.withheld_from_protected()
    if adjust_for is not None and not adjust_for:
        return Adjustment.none()
    return adjusted_relative_likelihoods(runner, filters, split, reference, adjust_for)


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
    ``icons``: the icon summary, one row per headline indicator by financial year (``TrendsView.summary``).
    """

    summary: pd.DataFrame
    minority: pd.DataFrame
    graduates: pd.DataFrame
    icons: pd.DataFrame
    queries: tuple[str, ...]
    adjustments: dict[str, Adjustment] = field(default_factory=dict)
    protected: bool = True
    coverage: Coverage | None = None  # cases the rates leave out: no workforce rows for their organisation and year


def overview_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
    adjust_for: Sequence[str] | None = None,
    target: float = DEFAULT_TARGET,
    icons: bool = True,
) -> OverviewView:
    """All the Overview's numbers for a viewer: the chosen split's rates and the two headlines, one grouped query
    each, protected together (the same people split three ways); at the full level (unless ``adjust_for`` is
    empty) the adjusted relative likelihoods, one query of cells and one (cached) model fit each; and the icon
    summary of the headline indicators' trends (``trends_view`` by financial year, against ``target``, for the
    same viewer). Without ``icons`` (the organisation profile, which shows none) the icon summary is empty and its
    queries are not run."""
    reference = checked_reference(split, reference)
    viewer = default_viewer(viewer)
    log = QueryLog(runner, viewer.org)
    family = Family()
    for name, table_split in (("summary", split), ("minority", "ethnic_minority"), ("graduates", "pmq_region")):
        family.add(name, run_split_query(log, "referrals_by_group", filters, table_split), table_split)
    shown = family.protect(viewer, rule or Rule())
    tables: dict[str, pd.DataFrame] = {}
    adjustments: dict[str, Adjustment] = {}
    for name, table_split, table_reference in (
        ("summary", split, reference),
        ("minority", "ethnic_minority", contract.WHITE),
        ("graduates", "pmq_region", contract.PMQ_REGIONS["UK"]),
    ):
        adjustments[name] = viewer_adjustment(log, filters, table_split, table_reference, adjust_for, viewer)
        tables[name] = with_adjusted(summarise_rates(shown[name], table_split, table_reference), adjustments[name])
    summary = trends_view(log, filters, target=target, rule=rule, viewer=viewer).summary if icons else pd.DataFrame()
    coverage = uncovered_cases(log, filters, viewer, rule or Rule())
    return OverviewView(
        **tables,
        icons=summary,
        queries=log.names,
        adjustments=adjustments,
        protected=viewer.protected,
        coverage=coverage,
    )


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
    ``flags`` count them; like every figure, p-values and flags come from the viewer's counts.
    With a drill on a group other than the reference, the drilled page's own family (``_drill_family``): the group
    against the reference overall and in each breakdown level, ``flagged`` on ``breakdown`` across those tests only,
    counted in ``drill_tests`` and ``drill_flags``.
    ``adjustment``: what the adjusted relative likelihoods in ``summary`` adjust for (``Adjustment.none()``
    without adjustment, ``Adjustment.withheld_from_protected()`` at the protected level); ``interaction``: the
    test of whether the ethnicity gap differs by place of qualification, adjusted for the same characteristics
    (None at the protected level, where no model is fitted).
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
    protected: bool = True
    drill_tests: int = 0
    drill_flags: int = 0
    coverage: Coverage | None = None  # cases the rates leave out: no workforce rows for their organisation and year


def _drill_family(summary: pd.DataFrame, breakdown: pd.DataFrame, drill: str) -> tuple[pd.DataFrame, int, int]:
    """A drill's own family: the drilled group against the reference overall and within each level of each
    breakdown, the comparisons the drilled page shows. ``flagged`` on the breakdown: Benjamini–Hochberg at
    ``FALSE_DISCOVERY_RATE`` across these tests (None on the reference's rows and where there was no test); with
    the family's numbers of tests and of flags. A "not stated" or "not known" drill is data quality, as on the main
    view: no family."""
    flagged = pd.Series(None, index=breakdown.index, dtype=object)
    if breakdown.empty or contract.is_unknown_group(drill):
        return breakdown.assign(flagged=flagged), 0, 0
    own = breakdown["group"].eq(drill) & ~breakdown["is_reference"].astype(bool)
    overall = summary.loc[summary["group"].eq(drill) & ~summary["is_reference"].astype(bool), "p_value"]
    p_values = pd.concat([overall, breakdown.loc[own, "p_value"]], ignore_index=True).astype(float)
    flags = pd.Series(stats.benjamini_hochberg(p_values.tolist(), alpha=FALSE_DISCOVERY_RATE), dtype=object)
    flags = flags.where(p_values.notna(), None)
    flagged[own] = flags.iloc[len(overall) :].to_numpy()
    return breakdown.assign(flagged=flagged), int(p_values.notna().sum()), int(flags.eq(True).sum())


def _intersection_tables(crossed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the ethnicity × PMQ summary: it with ``ethnic_group`` and ``pmq`` columns, and each cell against
    White practitioners of the same place of qualification."""
    parts = crossed["group"].str.split(" · ", n=1, expand=True) if len(crossed) else pd.DataFrame({0: [], 1: []})
    crossed = crossed.copy()
    crossed.insert(0, "pmq", parts[1])
    crossed.insert(0, "ethnic_group", parts[0])
    counts = crossed[["pmq", "ethnic_group", "cases", "headcount", "suppressed"]].rename(
        columns={"ethnic_group": "grp"}
    )
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
    viewer: Viewer | None = None,
    rule: Rule | None = None,
    adjust_for: Sequence[str] | None = None,
) -> ConcernRatesView:
    """All the Concern rates page's numbers for one view: four grouped queries, five with a drill, and the
    cells the adjusted relative likelihoods and the interaction test are modelled on.

    ``window`` is the rolling window of the trend in financial years (one of ``WINDOWS``); ``drill`` a
    group of the split to break down by organisation type, region and concern type against the
    reference group. Breakdowns by organisation type and region are always below national level.
    ``adjust_for``: the characteristics the adjusted relative likelihoods hold equal (None: all; empty: none);
    the models are fitted at the full level only. At the protected level every table's counts are protected
    together (``Family``): the split and the ethnicity × place of qualification cells, each concern type's
    groups and each group's concern types, each year's groups and (one-year windows) each group's years against
    its period, and the drill's levels against the group's total. Flags and tests come from the protected counts
    too; the adjusted relative likelihoods and the interaction test are left out at that level."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(map(str, WINDOWS))} financial years, not {window!r}")
    reference = checked_reference(split, reference, drill)
    viewer = default_viewer(viewer)
    log = QueryLog(runner, viewer.org)
    cross = contract.SPLITS["ethnicity_pmq"].default_reference

    family = Family()
    family.add("summary", run_split_query(log, "referrals_by_group", filters, split), split)
    if split != "ethnicity_pmq":
        family.add(
            "intersection", run_split_query(log, "referrals_by_group", filters, "ethnicity_pmq"), "ethnicity_pmq"
        )
    family.add("concerns", run_split_query(log, "referrals_by_group_concern", filters, split), split, ("concern",))
    family.parts_of_group("concerns", with_total="summary")
    family.add(
        "trend", run_split_query(log, "referrals_by_group_year", filters, split, window=window), split, ("fy_start",)
    )
    if window == 1:
        family.parts_of_group("trend", with_total="summary")
    if drill is not None:
        counts = run_split_query(
            log, "referrals_by_group_breakdown", filters, split, drill_group=drill, reference=reference
        )
        for dimension in BREAKDOWNS:
            rows = counts[counts["dimension"] == dimension].drop(columns="dimension")
            if dimension == "concern":
                family.add(
                    "by_concern", rows.rename(columns={"level": "concern"}), split, ("concern",), partition=False
                )
            else:
                family.add(f"by_{dimension}", rows, split, ("level",), partition=False)
                family.parts_of_group(f"by_{dimension}", with_total="summary")
    shown = family.protect(viewer, rule or Rule())

    summary = summarise_rates(shown["summary"], split, reference)
    adjustment = viewer_adjustment(log, filters, split, reference, adjust_for, viewer)
    summary = with_adjusted(summary, adjustment)
    intersection = summarise_rates(shown.get("intersection", shown["summary"]), "ethnicity_pmq", cross)
    intersection, within_pmq = _intersection_tables(intersection)

    concerns = summarise_rates(shown["concerns"], split, reference, by=("concern",))
    order = {c: i for i, c in enumerate(contract.CONCERN_TYPES)}
    concerns = concerns.sort_values("concern", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    concerns.insert(1, "concern_label", concerns["concern"].map(contract.CONCERN_TYPES))

    trend = summarise_rates(shown["trend"], split, reference, by=("fy_start", "window_start"))
    trend = trend.sort_values(["fy_start"], kind="stable").reset_index(drop=True)
    trend.insert(
        2, "period", [_window_label(s, e) for s, e in zip(trend["window_start"], trend["fy_start"], strict=True)]
    )

    breakdown = pd.DataFrame()
    if drill is not None:
        by_level = {d: shown[f"by_{d}"] for d in BREAKDOWNS}
        by_level["concern"] = by_level["concern"].rename(columns={"concern": "level"})
        breakdown = drill_breakdown(
            lambda dimension: by_level[dimension],
            lambda rows, _: summarise_rates(rows, split, reference, by=("level",)),
            drill=drill,
            reference=reference,
            filters=filters,
        )
    if breakdown.empty:
        breakdown = pd.DataFrame(columns=["dimension", "level", "level_label", *SUMMARY_COLUMNS, "suppressed"])

    interaction = None if viewer.protected else ethnicity_pmq_interaction(log, filters, adjust_for)
    coverage = uncovered_cases(log, filters, viewer, rule or Rule())
    if split == "ethnicity_pmq" and reference == cross:  # the same comparisons twice: one family member each
        summary, within_pmq, concerns = _flag_family(summary, within_pmq, concerns)
        intersection = intersection.assign(flagged=summary["flagged"].to_numpy())
        family = (summary, within_pmq, concerns)
    else:
        summary, intersection, within_pmq, concerns = _flag_family(summary, intersection, within_pmq, concerns)
        family = (summary, intersection, within_pmq, concerns)
    tests = sum(int(t["p_value"].notna().sum()) for t in family)
    flags = sum(int(t["flagged"].eq(True).sum()) for t in family)
    drill_tests = drill_flags = 0
    if drill is not None and drill != reference:
        breakdown, drill_tests, drill_flags = _drill_family(summary, breakdown, drill)

    return ConcernRatesView(
        summary=summary,
        intersection=intersection,
        within_pmq=within_pmq,
        concerns=concerns,
        trend=trend,
        breakdown=breakdown,
        national=filters.is_national,
        window=window,
        drill=drill,
        queries=log.names,
        adjustment=adjustment,
        interaction=interaction,
        tests=tests,
        flags=flags,
        protected=viewer.protected,
        drill_tests=drill_tests,
        drill_flags=drill_flags,
        coverage=coverage,
    )

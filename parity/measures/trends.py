"""The headline indicators over time as XmR charts with Making Data Count's rules and icons (the Trends page, the
Overview's icon summary and the meeting pack).

Each headline indicator is a series by financial year or by quarter: the relative likelihood of referral (ethnic
minority vs White, IMGs vs UK graduates), the referral rate of each of those four groups, and the risk ratio of two
pathway stages among referred cases. ``parity.stats.rebased_xmr`` puts limits round each series (recalculated from
a chosen period when the chart is rebased) and reads its variation icon and, against the target, its assurance
icon.

At the protected level the counts are protected first (``parity.disclosure``'s rule, for the viewer) and every
rate, ratio, interval and limit is computed from the protected counts: a chart, its table and a pack show nothing
computed from an exact count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import get_query
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures.common import (
    SMALL_NUMBERS,
    Coverage,
    QueryLog,
    RunsQueries,
    default_viewer,
    protect_counts,
    uncovered_cases,
)
from parity.viewer import Viewer

PERIODS: dict[str, str] = {"year": "financial year", "quarter": "quarter"}
# Quarters of a financial year, by the months they cover (Q1 is April to June).
QUARTER_MONTHS: dict[int, str] = {1: "Apr–Jun", 2: "Jul–Sep", 3: "Oct–Dec", 4: "Jan–Mar"}
# NHSRplotthedots warns that limits from fewer points than this are unreliable.
MIN_POINTS_FOR_LIMITS = 12
DEFAULT_TARGET = 1.25  # the top of the 0.80–1.25 "non-adverse" band


@dataclass(frozen=True)
class Indicator:
    """One headline indicator: what is charted and which way is better.

    ``kind``: "rl" (relative likelihood of referral), "rate" (referrals per 1,000 practitioners a year) or "rr"
    (risk ratio of reaching ``stage`` among referred cases). ``improvement``: "decrease" for a gap (lower is
    closer to parity from above) or "neutral" (neither way is better: a group's own rate).
    """

    key: str
    kind: str
    split: str
    group: str
    reference: str | None
    stage: str | None
    label: str
    short: str
    improvement: str

    @property
    def has_target(self) -> bool:
        return self.kind != "rate"

    @property
    def family(self) -> str:
        """What the indicator measures, in a few words: the indicators of one family are read together."""
        if self.kind == "rl":
            return "Relative likelihood of referral"
        if self.kind == "rate":
            return "Referral rates"
        return _STAGES_SHORT[self.stage or ""]


_EM, _WHITE = contract.ETHNIC_MINORITY, contract.WHITE
_IMG, _UK = contract.PMQ_REGIONS["IMG"], contract.PMQ_REGIONS["UK"]
_PAIRS = (
    ("minority", "ethnic_minority", _EM, _WHITE, "ethnic minority vs White"),
    ("img", "pmq_region", _IMG, _UK, "IMGs vs UK graduates"),
)
_STAGES = {
    "exclusion_or_suspension": "exclusion or suspension",
    "formal_without_informal": "formal investigation without informal resolution first",
}
_STAGES_SHORT = {
    "exclusion_or_suspension": "Exclusion or suspension",
    "formal_without_informal": "Straight to formal investigation",
}

INDICATORS: tuple[Indicator, ...] = (
    *(
        Indicator(
            f"rl_{key}",
            "rl",
            split,
            group,
            ref,
            None,
            f"Relative likelihood of referral, {words}",
            f"Referral RL, {words}",
            "decrease",
        )
        for key, split, group, ref, words in _PAIRS
    ),
    *(
        Indicator(
            f"rate_{key}_{side}",
            "rate",
            split,
            group,
            None,
            None,
            f"Referral rate per 1,000, {name}",
            f"Referral rate, {name}",
            "neutral",
        )
        for key, split, em, ref, _ in _PAIRS
        for side, group, name in (
            ("group", em, "ethnic minority" if key == "minority" else "IMGs"),
            ("reference", ref, "White" if key == "minority" else "UK graduates"),
        )
    ),
    *(
        Indicator(
            f"{stage}_{key}",
            "rr",
            split,
            group,
            ref,
            stage,
            f"Risk ratio of {words} among referred cases, {pair}",
            f"{_STAGES_SHORT[stage]}, {pair}",
            "decrease",
        )
        for stage, words in _STAGES.items()
        for key, split, group, ref, pair in _PAIRS
    ),
)
INDICATOR_KEYS: dict[str, Indicator] = {i.key: i for i in INDICATORS}

SERIES_COLUMNS: tuple[str, ...] = (
    "period",
    "fy_start",
    "quarter",
    "events",
    "denominator",
    "ref_events",
    "ref_denominator",
    "value",
    "lower",
    "upper",
    "small_numbers",
    "suppressed",
    "segment",
    "centre",
    "lower_limit",
    "upper_limit",
    "special_cause",
    "point_type",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "key",
    "label",
    "short",
    "kind",
    "latest_period",
    "value",
    "lower",
    "upper",
    "small_numbers",
    "points",
    "variation_icon",
    "assurance_icon",
    "target",
    "improvement",
    "provisional",
    "rebased",
    "note",
)


@dataclass(frozen=True)
class TrendsView:
    """Every number the Trends page, the Overview's icon summary and the meeting pack show.

    ``series``: one table per indicator key (``INDICATORS``), one row per period, oldest first, with
    ``SERIES_COLUMNS``: the period's label, its counts (protected at the protected level; NaN where hidden), the
    value and its 95% interval, whether it rests on fewer than ``SMALL_NUMBERS`` referrals, the segment of the
    chart it belongs to (0, then 1 after a rebase), that segment's centre line and process limits, and
    NHSRplotthedots' special-cause label and point type (None where the value is hidden or not estimable: such
    periods are left out of the limits).
    ``summary``: one row per indicator with ``SUMMARY_COLUMNS``: the latest period's value and interval, the
    number of points charted, the Making Data Count icons, and ``note`` (why there are no limits, or why a rebase
    was not applied).
    ``periods``: every period's label, oldest first; ``rebase``: the period the limits are recalculated from.
    """

    series: dict[str, pd.DataFrame]
    summary: pd.DataFrame
    period: str
    periods: tuple[str, ...]
    rebase: str | None
    target: float
    protected: bool
    extract_date: str | None
    queries: tuple[str, ...]
    coverage: Coverage | None = None  # cases the rates leave out: no workforce rows for their organisation and year


def period_label(fy_start: int, quarter: int) -> str:
    """ "2023/24" for a financial year (quarter 0), "2023/24 Q1" for a quarter of it."""
    year = contract.financial_year_label(int(fy_start))
    return year if quarter == 0 else f"{year} Q{int(quarter)}"


def _rate(events: float, denominator: float, per_year: int) -> tuple[float, float, float]:
    """Rate per 1,000 a year (a quarter's rate × 4) with its interval (exact Poisson below 10, Byar from 10)."""
    if _missing(events, denominator) or denominator <= 0 or events > denominator:
        return math.nan, math.nan, math.nan
    lower, upper = stats.rate_interval(events, denominator, per=1000)
    scale = per_year
    return events / denominator * 1000 * scale, lower * scale, upper * scale


def _ratio(a: float, n1: float, c: float, n2: float) -> tuple[float, float, float]:
    """Risk ratio (a/n1) ÷ (c/n2) with Katz's interval; NaN where a count is hidden or the ratio not estimable."""
    if _missing(a, n1, c, n2) or min(a, c, n1, n2) <= 0 or a > n1 or c > n2:
        return math.nan, math.nan, math.nan
    ratio = stats.risk_ratio(int(a), int(n1), int(c), int(n2))
    return ratio.value, ratio.lower, ratio.upper


def _missing(*values: float) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def _series_values(indicator: Indicator, counts: pd.DataFrame, keyed: dict[tuple, dict], per_year: int) -> pd.DataFrame:
    """One row per period: the indicator's counts, value and interval (before any limits). ``keyed``: the counts'
    rows by (fy_start, quarter, grp)."""
    if indicator.kind == "rr":
        numerator, denominator = indicator.stage, "cases"
    else:
        numerator, denominator = "cases", "headcount"
    rows = []
    for fy_start, quarter in counts[["fy_start", "quarter"]].drop_duplicates().itertuples(index=False):

        def count(group: str, column: str, fy: int = fy_start, q: int = quarter) -> float:
            return float(keyed.get((fy, q, group), {}).get(column, 0.0))

        events, den = count(indicator.group, numerator), count(indicator.group, denominator)
        ref_events = ref_den = math.nan
        referrals = [count(indicator.group, "cases")]
        if indicator.kind == "rate":
            value, lower, upper = _rate(events, den, per_year)
        else:
            ref_events, ref_den = count(indicator.reference, numerator), count(indicator.reference, denominator)
            referrals.append(count(indicator.reference, "cases"))
            value, lower, upper = _ratio(events, den, ref_events, ref_den)
        hidden = _missing(events, den, *([] if indicator.kind == "rate" else [ref_events, ref_den]))
        small = any(not _missing(r) and r < SMALL_NUMBERS for r in referrals) or any(_missing(r) for r in referrals)
        rows.append(
            {
                "period": period_label(fy_start, quarter),
                "fy_start": int(fy_start),
                "quarter": int(quarter),
                "events": events,
                "denominator": den,
                "ref_events": ref_events,
                "ref_denominator": ref_den,
                "value": value,
                "lower": lower,
                "upper": upper,
                "small_numbers": small,
                "suppressed": hidden,
            }
        )
    return pd.DataFrame(rows)


def _with_limits(
    series: pd.DataFrame, indicator: Indicator, rebase: str | None, target: float | None
) -> tuple[pd.DataFrame, dict]:
    """The series with its XmR limits and labels (periods without a value are left out); and its summary."""
    n = len(series)
    segment_of: list[object] = [None] * n
    centre, lower, upper = np.full(n, math.nan), np.full(n, math.nan), np.full(n, math.nan)
    labels: list[object] = [None] * n
    types: list[object] = [None] * n

    def with_columns() -> pd.DataFrame:
        return series.assign(
            segment=pd.Series(segment_of, index=series.index, dtype=object),
            centre=centre,
            lower_limit=lower,
            upper_limit=upper,
            special_cause=pd.Series(labels, index=series.index, dtype=object),
            point_type=pd.Series(types, index=series.index, dtype=object),
        )

    charted = np.flatnonzero(series["value"].notna().to_numpy())
    values = series["value"].to_numpy(float)[charted].tolist()
    note, rebased = "", None
    summary = {"variation_icon": None, "assurance_icon": None, "points": len(values)}
    if len(values) < 2:
        note = "Fewer than two periods with a value: no control limits."
        return with_columns(), {**summary, "note": note, "rebased": None}
    starts: list[int] = []
    if rebase is not None:
        periods = series["period"].to_numpy()[charted].tolist()
        later = [i for i, p in enumerate(periods) if _period_order(p) >= _period_order(rebase)]
        if later and 2 <= later[0] <= len(values) - 2:
            starts, rebased = [later[0]], periods[later[0]]
        else:
            note = f"Not rebased at {rebase}: each side of a rebase needs at least two periods with a value."
    segments = stats.rebased_xmr(values, starts, improvement=indicator.improvement, target=target)
    for number, segment in enumerate(segments):
        chart = segment.chart
        point_types = stats.point_types(chart, indicator.improvement)
        for k, row in enumerate(charted[segment.start : segment.stop]):
            segment_of[row] = number
            centre[row], lower[row], upper[row] = chart.mean, chart.lower_limit, chart.upper_limit
            labels[row], types[row] = chart.special_cause[k], point_types[k]
    last = segments[-1]
    return with_columns(), {
        **summary,
        "variation_icon": last.chart.variation_icon,
        "assurance_icon": last.chart.assurance_icon,
        "note": note,
        "rebased": rebased,
        "provisional": last.stop - last.start < MIN_POINTS_FOR_LIMITS,
    }


def _period_order(label: str) -> tuple[int, int]:
    year, _, quarter = label.partition(" Q")
    return contract.parse_financial_year(year), int(quarter or 0)


def trends_view(
    runner: RunsQueries,
    filters: Filters,
    *,
    period: str = "year",
    rebase: str | None = None,
    target: float = DEFAULT_TARGET,
    rule: Rule | None = None,
    viewer: Viewer | None = None,
) -> TrendsView:
    """Every headline indicator by ``period`` ("year" or "quarter"), with XmR limits from ``rebase`` on, for a
    viewer (protected unless told otherwise).

    At the protected level the disclosure rule (cell-key perturbation, suppression, rounding, and secondary
    suppression among the groups of each period) applies to every count before anything is computed from it.
    Two grouped queries (one per split), and the load's facts.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {period!r}")
    if rebase is not None:
        _period_order(rebase)  # a label such as 2021/22 or 2021/22 Q3, or ValueError
    rule = rule or Rule()
    viewer = default_viewer(viewer)
    protected = viewer.protected
    per_year = 4 if period == "quarter" else 1
    log = QueryLog(runner, viewer.org)
    declared = get_query("referrals_by_group_period").params
    counts_by_split: dict[str, pd.DataFrame] = {}
    keyed_by_split: dict[str, dict[tuple, dict]] = {}
    for split in dict.fromkeys(i.split for i in INDICATORS):
        counts = log.run("referrals_by_group_period", {"split": split, "period": period, **filters.params(declared)})
        counts = protect_counts(
            counts, ["cases", "headcount", *_STAGES], viewer=viewer, rule=rule, wholes_within=[("fy_start", "quarter")]
        )
        counts_by_split[split] = counts
        keyed_by_split[split] = counts.set_index(["fy_start", "quarter", "grp"]).to_dict("index")

    meta = log.run("load_meta")
    extract = meta.loc[meta["key"] == "extract_date", "value"]
    series, rows = {}, []
    all_periods: list[str] = []
    for indicator in INDICATORS:
        counts = counts_by_split[indicator.split]
        values = _series_values(indicator, counts, keyed_by_split[indicator.split], per_year)
        if values.empty:
            values = pd.DataFrame(columns=SERIES_COLUMNS[:12])
        target_value = target if indicator.has_target else None
        table, facts = _with_limits(values, indicator, rebase, target_value)
        series[indicator.key] = table[list(SERIES_COLUMNS)].reset_index(drop=True)
        all_periods += [p for p in table["period"] if p not in all_periods]
        shown = table[table["value"].notna()]
        latest = shown.iloc[-1] if not shown.empty else None
        rows.append(
            {
                "key": indicator.key,
                "label": indicator.label,
                "short": indicator.short,
                "kind": indicator.kind,
                "latest_period": latest["period"] if latest is not None else None,
                "value": latest["value"] if latest is not None else math.nan,
                "lower": latest["lower"] if latest is not None else math.nan,
                "upper": latest["upper"] if latest is not None else math.nan,
                "small_numbers": bool(latest["small_numbers"]) if latest is not None else False,
                "target": target_value,
                "improvement": indicator.improvement,
                "provisional": bool(facts.get("provisional", True)),
                **{k: facts[k] for k in ("points", "variation_icon", "assurance_icon", "rebased", "note")},
            }
        )
    all_periods.sort(key=_period_order)
    coverage = uncovered_cases(log, filters, viewer, rule or Rule())
    return TrendsView(
        series=series,
        summary=pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)),
        period=period,
        periods=tuple(all_periods),
        rebase=rebase,
        target=target,
        protected=protected,
        extract_date=str(extract.iloc[0]) if not extract.empty else None,
        coverage=coverage,
        queries=log.names,
    )

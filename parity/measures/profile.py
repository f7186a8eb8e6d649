"""An organisation's profile beside national (the Organisation page's spine chart, as Fingertips draws one): for each
indicator, the organisation's value, the comparator's (national, or every organisation in the regions and types
chosen), the range across organisations, and whether the organisation differs from the rest of the comparator by
the test that fits the measure.

The organisation's and the comparator's values are the very numbers the Overview, Outcomes and Durations pages
show the same viewer for the same filters (with the organisation picked, and without): the profile asks those
pages' Views. The range across organisations and the tests against the rest come from one query by organisation
per measure, its counts protected for the viewer first (every organisation's cells are the parts of the whole).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import get_query
from parity.disclosure import Rule, protect
from parity.filters import Filters
from parity.measures.common import (
    QueryLog,
    RunsQueries,
    checked_reference,
    default_viewer,
    protect_counts,
    run_split_query,
)
from parity.measures.durations import DAYS_PER_MONTH, durations_view
from parity.measures.outcomes import OUTCOME_LABELS, outcomes_view
from parity.measures.referrals import overview_view, viewer_adjustment
from parity.measures.scope import GEOGRAPHY_PARAMS, ScopeGuard
from parity.viewer import Viewer

# The shares of cases the profile compares, in the order of the pathway.
PROFILE_OUTCOMES: tuple[str, ...] = (
    "exclusion_or_suspension",
    "formal_without_informal",
    "restriction",
    "regulator_referral",
)
OPEN_MONTHS = 12
# Times to closure are counted by organisation in bins of this many months before protection: an organisation's
# cells for single months are mostly small enough to hide, which would bend its curve.
DURATION_BIN_MONTHS = 3
# The relative likelihoods of referral the profile shows, as the Overview's headlines: (split, group compared,
# reference, label, the Overview table that holds it).
PROFILE_RATIOS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ethnic_minority", contract.ETHNIC_MINORITY, contract.WHITE, "by ethnicity", "minority"),
    ("pmq_region", contract.PMQ_REGIONS["IMG"], contract.UK_GRADUATE, "by place of qualification", "graduates"),
)
SECTIONS: dict[str, str] = {
    "rl": "Relative likelihood of referral",
    "rate": "Referral rate per 1,000 practitioners a year",
    "outcome": "Share of cases",
    "median": "Median months from referral to closure",
    "open": f"Share of cases still open {OPEN_MONTHS} months after referral",
}
DURATION_LABELS = {"median": "Median months to closure", "open": f"Still open at {OPEN_MONTHS} months"}
# Where each section's numbers come from: the page a row links to.
SECTION_PAGES: dict[str, str] = {
    "rl": "overview",
    "rate": "overview",
    "outcome": "outcomes",
    "median": "durations",
    "open": "durations",
}

# Why the adjusted relative likelihoods are not shown at the protected level (as the Overview says).
ADJUSTED_AT_FULL_LEVEL_ONLY = (
    "shown to analysts at the full level only: the adjusted model is a regression on the data's cells, which "
    "means nothing on protected cells and would compute a shown number from exact counts on exact ones"
)
NOT_ESTIMABLE = "the adjusted model cannot estimate it (no referrals in a group, or none to compare)"
PROTECTED_OPEN_TEST = (
    f"still open at {OPEN_MONTHS} months, against the rest: Fisher's exact or chi-square on protected counts "
    "(no log-rank test at this level)"
)
UNTESTED_PROTECTED = f"not tested at this level: a hidden count, or no case followed for {OPEN_MONTHS} months"
SECONDARY_HIDDEN = "hidden under the disclosure rule: a small count, or one that would give a hidden count away"

PROFILE_COLUMNS = [
    "section",
    "indicator",
    "label",
    "group",
    "split",
    "unit",
    "value",
    "lower",
    "upper",
    "national",
    "national_lower",
    "national_upper",
    "range_low",
    "range_high",
    "range_orgs",
    "test",
    "p_value",
    "judgement",
    "hidden_reason",
    "page",
]


@dataclass(frozen=True)
class ProfileView:
    """Every number of one organisation's profile, after disclosure control.

    ``rows``: one row per indicator (``PROFILE_COLUMNS``): section (``SECTIONS``), indicator, label, group, split
    (the page view it comes from), unit ("ratio", "rate", "share", "months"), value with lower and upper (95%),
    national with national_lower and national_upper (the comparator), range_low and range_high (across the
    range_orgs organisations whose value can be shown), test (its name), p_value, judgement ("higher", "lower",
    "similar", or None where not tested), hidden_reason (why a value is not shown, else None), page (the page it
    comes from).
    ``organisations``: how many organisations the comparator holds. ``queries``: the named queries run.
    """

    org: str
    org_name: str
    split: str
    reference: str
    comparator_national: bool
    organisations: int
    rows: pd.DataFrame
    queries: tuple[str, ...]


def _judgement(p_value: float, direction: float) -> str | None:
    if p_value != p_value:  # NaN: no test
        return None
    if p_value < 0.05:
        return "higher" if direction > 0 else "lower"
    return "similar"


def _hidden(count: float, rule: Rule) -> bool:
    return 0 < count <= rule.suppress_max


def _range(values: pd.Series) -> tuple[float, float, int]:
    values = values[np.isfinite(values.astype(float))]
    if values.empty:
        return math.nan, math.nan, 0
    return float(values.min()), float(values.max()), int(len(values))


def _row(**values: object) -> dict:
    row = dict.fromkeys(PROFILE_COLUMNS)
    row.update(values)
    return row


def _rows_by(table: pd.DataFrame, *keys: str) -> dict:
    """A table's rows (as dicts) by the values of ``keys``: one lookup per indicator instead of a scan."""
    if table.empty:
        return {}
    # Column by column (``tolist`` gives Python scalars, as ``to_dict("records")`` does), a few times faster.
    columns = list(table.columns)
    lists = [table[c].tolist() for c in columns]
    records = [dict(zip(columns, values, strict=True)) for values in zip(*lists, strict=True)]
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in records}


def _rows_of_group(
    table: pd.DataFrame, group: str, shared: Callable[[object, Callable[[], object]], object], key: str
) -> pd.DataFrame:
    """``table[table["grp"] == group]``, from where every group's rows are (found once for the shared table named
    ``key``) rather than by comparing every row's group again for each group."""
    where = shared(("groups", key), lambda: table.groupby("grp", sort=False).indices)
    return table.iloc[where.get(group, np.empty(0, dtype=np.intp))]


class _Protected:
    """The per-organisation counts of one measure for the viewer (exact at the full level; at the protected level
    perturbed, rounded and suppressed, each organisation's cells being the parts of the comparator's whole), and
    the organisation's and the rest's sums of them for a test. A hidden cell of the rest counts as 0."""

    def __init__(self, table: pd.DataFrame, counts: list[str], by: list[str], viewer: Viewer, rule: Rule) -> None:
        sums = [c for c in table.columns if c in counts or c.removesuffix("_key") in counts]
        summed = table.groupby(["org_code", *by], as_index=False, sort=False)[sums].sum()
        self.table = protect_counts(summed, counts, viewer=viewer, rule=rule, wholes_within=[tuple(by)])
        self._shared: dict = {}

    def shared(self, key: object, compute: Callable[[], object]) -> object:
        """What every organisation's profile computes alike from these counts (a group's rows, its range across
        organisations, its totals), computed once: the comparator is shared by the next organisation's profile."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def rows_of(self, key: object, rows: pd.DataFrame, org: str) -> pd.DataFrame:
        """The organisation's rows of ``rows`` (a shared frame, by ``key``): where each organisation's rows are
        is found once for every profile, not by comparing every row's code again (1,500 organisations)."""
        where = self.shared(("where", key), lambda: rows.groupby("org_code", sort=False).indices)
        return rows.iloc[where.get(org, np.empty(0, dtype=np.intp))]

    def ranges(
        self, key: object, ratio: Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]]
    ) -> dict[str, tuple[float, float, int]]:
        """For each group, ``_range`` of the values ``ratio`` gives (values, shown) across organisations: every
        group's at once, in one pass over the table. A group without any is not in it."""

        def compute() -> dict[str, tuple[float, float, int]]:
            values, shown = ratio(self.table)
            values = values.astype(float)
            keep = shown.to_numpy(bool) & np.isfinite(values.to_numpy())
            spread = values[keep].groupby(self.table["grp"][keep], sort=False).agg(["min", "max", "count"])
            return {
                g: (float(low), float(high), int(n))
                for g, low, high, n in zip(spread.index, spread["min"], spread["max"], spread["count"], strict=True)
            }

        return self.shared(("ranges", key), compute)

    def group_totals(self, columns: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """Every organisation's sums of ``columns`` by group, a hidden count counting 0 (``totals`` for every group
        at once)."""

        def compute() -> dict[str, dict[str, float]]:
            sums = self.table[list(columns)].fillna(0).groupby(self.table["grp"], sort=False).sum()
            lists = [sums[c].tolist() for c in columns]
            return {
                g: {c: float(v) for c, v in zip(columns, values, strict=True)}
                for g, values in zip(sums.index, zip(*lists, strict=True), strict=True)
            }

        return self.shared(("group totals", columns), compute)

    def org_rows(self, org: str) -> dict[str, dict]:
        """The organisation's row of each group (for counts summed by organisation and group only: one row each)."""
        where = self.shared("org positions", lambda: self.table.groupby("org_code", sort=False).indices)
        return _rows_by(self.table.iloc[where.get(org, np.empty(0, dtype=np.intp))], "grp")

    def pivot(self) -> pd.DataFrame:
        """Cases and headcount by organisation (rows) and group (columns)."""
        return self.shared(
            "pivot",
            lambda: self.table.pivot_table(
                index="org_code", columns="grp", values=["cases", "headcount"], aggfunc="sum"
            ),
        )


def _ratio_rows(overviews: tuple, referrals: dict[str, _Protected], org: str, rule: Rule) -> list[dict]:
    rows = []
    for split, group, reference, label, table in PROFILE_RATIOS:
        org_row = _rows_by(getattr(overviews[0], table), "group").get(group)
        nat_row = _rows_by(getattr(overviews[1], table), "group").get(group)
        by_org = referrals[split].pivot()
        a, h = by_org.get(("cases", group)), by_org.get(("headcount", group))
        b, k = by_org.get(("cases", reference)), by_org.get(("headcount", reference))
        hidden_reason = None
        test = stats.Test(math.nan, math.nan, "z-test of the ratio of two rate ratios")
        low = high = math.nan
        shown_orgs = 0
        if a is not None and b is not None:
            shown = (a > 0) & (b > 0) & (h > 0) & (k > 0)
            low, high, shown_orgs = referrals[split].shared(
                ("rl_range", group, reference),
                lambda a=a, h=h, b=b, k=k, shown=shown: _range(((a / h) / (b / k))[shown]),
            )
            if org in by_org.index:
                mine = [float(x[org]) for x in (a, h, b, k)]
                rest = [float(x.drop(org).fillna(0).sum()) for x in (a, h, b, k)]
                if any(math.isnan(v) for v in mine):
                    hidden_reason = f"hidden: {rule.suppress_max} or fewer referrals in a group"
                else:
                    test = stats.ratio_of_rate_ratios_test(*mine, *rest)
        value = org_row["rl"] if org_row is not None else math.nan
        if hidden_reason is None and value != value:
            hidden_reason = "no referrals to compare in a group, or a hidden count"
        rows.append(
            _row(
                section="rl",
                indicator=f"rl_{split}",
                label=f"Relative likelihood {label} (crude): {group} vs {reference}",
                group=group,
                split=split,
                unit="ratio",
                value=value,
                lower=_value(org_row, "rl_lower"),
                upper=_value(org_row, "rl_upper"),
                national=_value(nat_row, "rl"),
                national_lower=_value(nat_row, "rl_lower"),
                national_upper=_value(nat_row, "rl_upper"),
                range_low=low,
                range_high=high,
                range_orgs=shown_orgs,
                test=test.method,
                p_value=test.p_value,
                judgement=_judgement(test.p_value, test.statistic) if hidden_reason is None else None,
                hidden_reason=hidden_reason,
                page=SECTION_PAGES["rl"],
            )
        )
        rows.append(
            _row(
                section="rl",
                indicator=f"adjusted_rl_{split}",
                label=f"Relative likelihood {label} (adjusted): {group} vs {reference}",
                group=group,
                split=split,
                unit="ratio",
                page=SECTION_PAGES["rl"],  # filled in by _with_adjusted_ratios
            )
        )
    return rows


_NO_RANGE = (math.nan, math.nan, 0)
_NO_TOTAL: dict[str, float] = {}


def _count(row: dict | None, column: str) -> float:
    """A count of an organisation's row (NaN: hidden, or no row)."""
    if row is None or row.get(column) is None:
        return math.nan
    return float(row[column])


def _zero_if_nan(value: float) -> float:
    return 0.0 if value != value else value


def _rates(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each organisation's referral rate per 1,000 practitioners a year, and where it can be shown."""
    return table["cases"] / table["headcount"] * 1000, (table["headcount"] > 0) & table["cases"].notna()


def _shares(measure: str, table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each organisation's share of cases reaching ``measure``, and where it can be shown."""
    return table[measure] / table["cases"], (table["cases"] > 0) & table[measure].notna()


def _rate_rows(
    overviews: tuple, referrals: _Protected, org: str, split: str, groups: list[str], rule: Rule
) -> list[dict]:
    org_table = _rows_by(overviews[0].summary, "group")
    nat_table = _rows_by(overviews[1].summary, "group")
    mine_by_group = referrals.org_rows(org)
    totals = referrals.group_totals(("cases", "headcount"))
    rows = []
    for group in groups:
        org_row, nat_row = org_table.get(group), nat_table.get(group)
        low, high, shown_orgs = referrals.ranges("rate", _rates).get(group, _NO_RANGE)
        mine = mine_by_group.get(group)
        observed, years = _count(mine, "cases"), _count(mine, "headcount")
        total = totals.get(group, _NO_TOTAL)
        rest = {c: np.float64(total.get(c, 0.0) - _zero_if_nan(_count(mine, c))) for c in ("cases", "headcount")}
        hidden_reason, judgement = None, None
        if org_row is None or not years > 0:
            hidden_reason = "no practitioners of this group at the organisation, or a hidden count"
        elif observed != observed:
            hidden_reason = f"hidden: {rule.suppress_max} or fewer referrals"
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # as a Series would: no practitioners left, inf or NaN
                rest_rate = rest["cases"] / rest["headcount"]
            if rest_rate > 0:
                # Expected at the rest's rate: the standardised ratio's exact (or Byar) interval is the test.
                isr = stats.indirectly_standardised_ratio(observed, years * rest_rate)
                judgement = "higher" if isr.lower > 1 else "lower" if isr.upper < 1 else "similar"
        rows.append(
            _row(
                section="rate",
                indicator=f"rate_{group}",
                label=f"Referral rate: {group}",
                group=group,
                split=split,
                unit="rate",
                value=_value(org_row, "rate"),
                lower=_value(org_row, "rate_lower"),
                upper=_value(org_row, "rate_upper"),
                national=_value(nat_row, "rate"),
                national_lower=_value(nat_row, "rate_lower"),
                national_upper=_value(nat_row, "rate_upper"),
                range_low=low,
                range_high=high,
                range_orgs=shown_orgs,
                test="ratio to the rest's rate (exact or Byar 95% interval against 1)",
                p_value=math.nan,
                judgement=judgement,
                hidden_reason=hidden_reason,
                page=SECTION_PAGES["rate"],
            )
        )
    return rows


def _outcome_rows(outcomes: tuple, counts: _Protected, org: str, split: str, groups: list[str], rule: Rule) -> list:
    org_shares = _rows_by(outcomes[0].measures, "measure", "group")
    nat_shares = _rows_by(outcomes[1].measures, "measure", "group")
    mine_by_group = counts.org_rows(org)
    totals = counts.group_totals(("cases", *PROFILE_OUTCOMES))
    rows = []
    for measure in PROFILE_OUTCOMES:
        for group in groups:
            org_row = org_shares.get((measure, group))
            nat_row = nat_shares.get((measure, group))
            low, high, shown_orgs = counts.ranges(("share", measure), partial(_shares, measure)).get(group, _NO_RANGE)
            mine = mine_by_group.get(group)
            a, n1 = _count(mine, measure), _count(mine, "cases")
            total = totals.get(group, _NO_TOTAL)
            c = total.get(measure, 0.0) - _zero_if_nan(a)
            n2 = total.get("cases", 0.0) - _zero_if_nan(n1)
            value = _value(org_row, "proportion")
            hidden_reason, test = None, None
            if not n1 > 0 and n1 == n1:
                hidden_reason = "no cases in this group at the organisation"
            elif a != a or n1 != n1 or value != value:
                hidden_reason = f"hidden: {rule.suppress_max} or fewer cases or events"
            elif n2 > 0 and 0 <= a <= n1 and 0 <= c <= n2:
                test = stats.compare_proportions(int(a), int(n1), int(c), int(n2))
            rows.append(
                _row(
                    section="outcome",
                    indicator=f"{measure}_{group}",
                    label=f"{OUTCOME_LABELS[measure]}: {group}",
                    group=group,
                    split=split,
                    unit="share",
                    value=value if hidden_reason is None else math.nan,
                    lower=_value(org_row, "lower"),
                    upper=_value(org_row, "upper"),
                    national=_value(nat_row, "proportion"),
                    national_lower=_value(nat_row, "lower"),
                    national_upper=_value(nat_row, "upper"),
                    range_low=low,
                    range_high=high,
                    range_orgs=shown_orgs,
                    test=test.method if test else "Fisher's exact or chi-square, against the rest",
                    p_value=test.p_value if test else math.nan,
                    judgement=_judgement(test.p_value, a / n1 - c / n2) if test else None,
                    hidden_reason=hidden_reason,
                    page=SECTION_PAGES["outcome"],
                )
            )
    return rows


def monthly_survival(rows: pd.DataFrame, keys: list[str], width: int = 1) -> pd.DataFrame:
    """Kaplan–Meier by block of ``keys`` from (months, closed, n) rows binned by whole month, closures counted at the
    end of their month and censorings after them: each block's median (months; NaN when not reached) and share still
    open at ``OPEN_MONTHS`` (NaN when no one was followed that long), with its size n. Vectorised over blocks: the
    range across organisations needs one per organisation and group."""
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "n", "median", "open"])
    binned = _binned(rows, keys).sort_values([*keys, "months"], kind="stable")
    grouped = binned.groupby(keys, sort=False)
    total = grouped["left"].transform("sum")
    left_before = grouped["left"].cumsum() - binned["left"]
    at_risk = total - left_before
    step = 1 - binned["closed"] / at_risk.where(at_risk > 0)
    binned["survival"] = step.fillna(1.0).groupby([binned[k] for k in keys], sort=False).cumprod()
    binned["end"] = binned["months"] + width
    reached = binned[binned["survival"] <= 0.5].groupby(keys, sort=False)["end"].min()
    followed = grouped["months"].max()
    before = binned[binned["end"] <= OPEN_MONTHS].groupby(keys, sort=False)["survival"].min()
    out = grouped["left"].sum().rename("n").to_frame()
    out["median"] = reached.reindex(out.index)
    out["open"] = before.reindex(out.index).fillna(1.0).where(followed.reindex(out.index) >= OPEN_MONTHS)
    return out.reset_index()


def _still_open_share(rows: pd.DataFrame, width: int = DURATION_BIN_MONTHS) -> float | None:
    """``monthly_survival``'s share still open at ``OPEN_MONTHS`` for one block of (months, closed, n) rows, in numpy
    (it runs twice per group for every organisation's profile); None for no rows."""
    if rows.empty:
        return None
    n = rows["n"].to_numpy(float)
    bins, position = np.unique(rows["months"].to_numpy(), return_inverse=True)
    left = np.bincount(position, weights=n, minlength=len(bins))
    closed = np.bincount(position, weights=np.where(rows["closed"].to_numpy(bool), n, 0.0), minlength=len(bins))
    at_risk = left.sum() - (np.cumsum(left) - left)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(at_risk > 0, 1 - closed / at_risk, 1.0)
    survival = np.cumprod(step)
    if bins.max() < OPEN_MONTHS:
        return math.nan
    before = survival[bins + width <= OPEN_MONTHS]
    return float(before.min()) if len(before) else 1.0


def _binned(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    closed = rows["n"].where(rows["closed"], 0)
    frame = rows[[*keys, "months"]].assign(closed=closed, left=rows["n"])
    return frame.groupby([*keys, "months"], as_index=False, sort=False)[["closed", "left"]].sum()


def _duration_rows(
    durations: tuple,
    counts: _Protected,
    org: str,
    split: str,
    groups: list[str],
    rule: Rule,
    protected: bool,
    per_org: pd.DataFrame | None = None,
    open_tests: dict[str, tuple[stats.Test | None, float]] | None = None,
) -> list:
    org_summary = durations[0].summary
    nat_summary = durations[1].summary
    org_summary = _rows_by(org_summary[org_summary["measure"] == "closure"], "group") if len(org_summary) else {}
    nat_summary = _rows_by(nat_summary[nat_summary["measure"] == "closure"], "group") if len(nat_summary) else {}
    table = counts.shared("filled", lambda: counts.table.assign(n=counts.table["n"].fillna(0)))
    if per_org is None:
        per_org = monthly_survival(table, ["org_code", "grp"], DURATION_BIN_MONTHS)
    rows = []
    for group in groups:
        org_row, nat_row = org_summary.get(group), nat_summary.get(group)
        shown = counts.shared("survival shown", lambda: per_org[per_org["n"] > 0])
        theirs = counts.shared(
            ("survival", group), lambda g=group, shown=shown: _rows_of_group(shown, g, counts.shared, "shown")
        )
        in_group = counts.shared(("filled", group), lambda g=group: _rows_of_group(table, g, counts.shared, "filled"))
        everyone = counts.shared(
            ("by_month", group), lambda rows=in_group: rows.groupby(["months", "closed"], as_index=False)["n"].sum()
        )
        # Months with no one in them (hidden cells count 0) carry nothing into the test.
        all_ours = counts.rows_of(("filled", group), in_group, org)
        ours = all_ours[all_ours["n"] > 0]
        theirs_n = counts.shared(("by_month_n", group), lambda e=everyone: e.set_index(["months", "closed"])["n"])
        ours_n = all_ours.groupby(["months", "closed"])["n"].sum().reindex(theirs_n.index, fill_value=0)
        rest = everyone.assign(n=(theirs_n - ours_n).to_numpy())
        rest = rest[rest["n"] > 0]
        n = _value(org_row, "n")
        hidden_reason, test, direction, untested = None, None, None, None
        if org_row is None or n == 0:
            hidden_reason = "no cases in this group at the organisation"
        elif n != n:
            hidden_reason = f"hidden: {rule.suppress_max} or fewer cases"
        elif protected:
            # No log-rank test here: on the quarters by organisation most cells are small enough for the rule to
            # hide or bend, and a log-rank test on protected life tables takes the counts' perturbation and
            # rounding for differences (with the pooled tables used before, a third of the tests on the synthetic
            # data at 100k cases flagged differences the exact data do not have). One honest test from protected
            # counts: the share still open at OPEN_MONTHS among cases followed that long, against the rest's.
            test, direction = (open_tests or {}).get(group, (None, math.nan))
            untested = UNTESTED_PROTECTED
        elif ours["n"].sum() > 0 and rest["n"].sum() > 0:
            # On whole months (end of month), from the protected counts.
            with np.errstate(invalid="ignore", divide="ignore"):  # months where no one is left at risk
                test = stats.logrank(
                    (ours["months"] + DURATION_BIN_MONTHS).to_numpy(float),
                    ours["closed"].to_numpy(float),
                    (rest["months"] + DURATION_BIN_MONTHS).to_numpy(float),
                    rest["closed"].to_numpy(float),
                    weights_a=ours["n"].to_numpy(float),
                    weights_b=rest["n"].to_numpy(float),
                )
        mine_open, rest_open = _still_open_share(ours), _still_open_share(rest)
        slower = 0.0
        if mine_open is not None and rest_open is not None:
            slower = float(np.nan_to_num(mine_open) - np.nan_to_num(rest_open))
        if direction is not None and direction == direction:
            slower = direction
        for section in ("median", "open"):
            if section == "median":
                value = _months(org_row, "median")
                bounds = (_months(org_row, "median_lower"), _months(org_row, "median_upper"))
                national = (
                    _months(nat_row, "median"),
                    _months(nat_row, "median_lower"),
                    _months(nat_row, "median_upper"),
                )
                column = "median"
            else:
                key = f"open_{OPEN_MONTHS}m"
                value = _value(org_row, key)
                bounds = (_value(org_row, f"{key}_lower"), _value(org_row, f"{key}_upper"))
                national = (_value(nat_row, key), _value(nat_row, f"{key}_lower"), _value(nat_row, f"{key}_upper"))
                column = "open"
            low, high, shown_orgs = counts.shared(
                ("range", group, column), lambda theirs=theirs, column=column: _range(theirs[column].dropna())
            )
            reason = hidden_reason
            if reason is None and value != value:
                reason = (
                    "not reached: fewer than half the cases have closed"
                    if section == "median"
                    else f"no case followed for {OPEN_MONTHS} months, or a hidden count"
                )
            rows.append(
                _row(
                    section=section,
                    indicator=f"{section}_{group}",
                    label=f"{DURATION_LABELS[section]}: {group}",
                    group=group,
                    split=split,
                    unit="months" if section == "median" else "share",
                    value=value,
                    lower=bounds[0],
                    upper=bounds[1],
                    national=national[0],
                    national_lower=national[1],
                    national_upper=national[2],
                    range_low=low,
                    range_high=high,
                    range_orgs=shown_orgs,
                    test=test.method if test else (untested or "log-rank on quarters, against the rest"),
                    p_value=test.p_value if test else math.nan,
                    judgement=_judgement(test.p_value, slower) if test and reason is None else None,
                    hidden_reason=reason,
                    page=SECTION_PAGES[section],
                )
            )
    return rows


def _value(row: dict | None, column: str) -> float:
    if row is None or row.get(column) is None:
        return math.nan
    return float(row[column])


def _months(row: dict | None, column: str) -> float:
    value = _value(row, column)
    return value / DAYS_PER_MONTH if math.isfinite(value) else (math.inf if value == math.inf else math.nan)


# The profile's independent parts (the organisation's three page Views and its adjusted fits; the comparator's
# Views and fits when it is not shared yet) run on a few threads: DuckDB lets go of the GIL while a query runs, so
# one part's query overlaps another's Python. A part never waits for another part's result, so the pool cannot
# deadlock; each part has its own query log.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="parity-profile")


@contextmanager
def _settled(*parts: Future | None) -> Iterator[None]:
    """Every part started finished (or cancelled) before the caller goes on, whatever happens in between: a part
    still running when the caller fails (a refused geography, say) must not outlive the caller's connection."""
    started = [part for part in parts if part is not None]
    try:
        yield
    finally:
        for part in started:
            part.cancel()
        wait(started)


@contextmanager
def _settled_later() -> Iterator[Callable[[Future], Future]]:
    """``_settled`` for parts started inside the block: each is passed through the function it yields."""
    started: list[Future] = []

    def add(part: Future) -> Future:
        started.append(part)
        return part

    try:
        yield add
    finally:
        for part in started:
            part.cancel()
        wait(started)


def _overview(runner: RunsQueries, filters: Filters, split: str, reference: str, viewer: Viewer, rule: Rule) -> Future:
    """The Overview's View for these filters, with only what the profile shows, started on the pool."""
    return _POOL.submit(
        overview_view, runner, filters, split, reference, viewer=viewer, rule=rule, adjust_for=(), icons=False
    )


def _later_views(
    runner: RunsQueries, filters: Filters, split: str, reference: str, viewer: Viewer, rule: Rule
) -> tuple[Future, Future]:
    """The Outcomes' and Durations' Views for these filters, with only what the profile shows, started on the pool."""
    return (
        _POOL.submit(outcomes_view, runner, filters, split, reference, viewer=viewer, rule=rule, tests=False),
        _POOL.submit(
            durations_view, runner, filters, split, reference, viewer=viewer, rule=rule, tests=False, episodes=False
        ),
    )


_BY_ORG_COUNTS = ["cases", "cases_key", "headcount", "headcount_key"]


def _labels_from_ethnicity_pmq() -> dict[str, dict[str, str]]:
    """For each split whose groups are unions of the ethnicity × place of qualification groups, the group each of
    those falls in (from the contract's codes: a split is left out if one such group fell in two of its)."""
    of_codes: dict[str, Callable[[str, str], str]] = {
        "ethnic_group": lambda e, q: contract.ETHNIC_GROUP_OF[e],
        "ethnic_minority": lambda e, q: contract.ETHNIC_MINORITY_OF[e],
        "pmq_region": lambda e, q: contract.PMQ_REGIONS[q],
        "uk_graduate": lambda e, q: contract.UK_GRADUATE_OF[q],
    }
    out = {}
    for split, label_of in of_codes.items():
        labels: dict[str, str] = {}
        nested = True
        for e in contract.ETHNIC_GROUP_OF:
            for q in contract.PMQ_REGIONS:
                fine = contract.ethnicity_pmq_label(e, q)
                nested &= labels.setdefault(fine, label_of(e, q)) == label_of(e, q)
        if nested:
            out[split] = labels
    return out


_FROM_ETHNICITY_PMQ = _labels_from_ethnicity_pmq()


def _counts_by_organisation(runner: RunsQueries, filters: Filters, splits: list[str]) -> dict[str, pd.DataFrame]:
    """``referrals_by_org_group`` for each split. Where two or more of them are unions of the ethnicity × place of
    qualification groups (ethnic group, ethnic minority, place of qualification, UK graduate), their rows are
    summed from that query run once for ``ethnicity_pmq``: the same organisations, groups, counts and cell keys
    (sums of record keys add up; a group is present where any of its parts is), in the query's order
    (``ORDER BY org_code, grp``); one scan of the cases instead of one per split."""
    out: dict[str, pd.DataFrame] = {}
    nested = [s for s in splits if s in _FROM_ETHNICITY_PMQ]
    if len(nested) > 1:
        fine = run_split_query(runner, "referrals_by_org_group", filters, "ethnicity_pmq")
        for split in nested:
            groups = fine["grp"].map(_FROM_ETHNICITY_PMQ[split])
            if (groups.isna() & fine["grp"].notna()).any():  # a label the contract does not know: ask the query
                continue
            summed = fine.assign(grp=groups).groupby(["org_code", "grp"], sort=True, dropna=False)[_BY_ORG_COUNTS]
            out[split] = summed.sum().reset_index()[["org_code", "grp", *_BY_ORG_COUNTS]]
    return {s: out[s] if s in out else run_split_query(runner, "referrals_by_org_group", filters, s) for s in splits}


class _SummedOverOrganisations:
    """A runner that answers ``referrals_by_group`` from ``referrals_by_org_group`` rows already fetched with the
    same parameters (the two queries declare the same ones), summed over organisations: the same groups, exact
    counts and cell keys (sums of record keys add up), in the same order, without scanning the cases again. Any
    other query, or other parameters, goes to the wrapped runner. Used for the comparator's Overview, and for the
    organisation's (from its own rows of those counts), only where no employer's scope guards a query."""

    def __init__(self, runner: RunsQueries, by_org: list[tuple[dict, pd.DataFrame]]) -> None:
        self._runner = runner
        self._by_org = by_org

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        if name == "referrals_by_group":
            for asked, rows in self._by_org:
                if asked == dict(params or {}) and len(rows):
                    summed = rows.groupby("grp", sort=True, dropna=False)[_BY_ORG_COUNTS].sum()
                    return summed.reset_index()[["grp", *_BY_ORG_COUNTS]]
        return self._runner.run(name, params)

    @property
    def data_version(self) -> object:
        return getattr(self._runner, "data_version", None)


# The splits whose group is a function of one column of ``referrals_by_cell`` (ethnic group, or place of
# qualification by its code: every split's cells carry both), with the label of each of its values.
_CELL_GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "ethnic_minority": (
        "ethnic_group",
        {contract.ETHNIC_GROUP_OF[code]: contract.ETHNIC_MINORITY_OF[code] for code in contract.ETHNIC_GROUP_OF},
    ),
    "pmq_region": ("pmq_region", dict(contract.PMQ_REGIONS)),
}


class _CellsOnce:
    """A runner that answers ``referrals_by_cell`` for a split of ``_CELL_GROUPS`` from the cells it already
    fetched for another such split with the same filters: the cells are the same (each crossed by ethnic group and
    place of qualification whatever the split), only the group label differs, and it is a function of one of
    their columns. Relabelled and put in the query's order (``ORDER BY ALL``), they are the rows the query
    returns; one scan of the cases and the workforce instead of two. Anything else goes to the wrapped runner."""

    def __init__(self, runner: RunsQueries) -> None:
        self._runner = runner
        self._cells: dict[tuple, pd.DataFrame] = {}

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        asked = dict(params or {})
        if name != "referrals_by_cell" or asked.get("split") not in _CELL_GROUPS:
            return self._runner.run(name, params)
        key = tuple(sorted((k, repr(v)) for k, v in asked.items() if k != "split"))
        found = self._cells.get(key)
        if found is not None:
            column, labels = _CELL_GROUPS[asked["split"]]
            groups = found[column].map(labels)
            if not (groups.isna() & found[column].notna()).any():  # every value has its label
                relabelled = found.assign(grp=groups)
                return relabelled.sort_values(list(found.columns), na_position="last", kind="stable").reset_index(
                    drop=True
                )
        rows = self._runner.run(name, params)
        self._cells.setdefault(key, rows.copy())
        return rows

    @property
    def data_version(self) -> object:
        return getattr(self._runner, "data_version", None)


def _adjusted_tables(
    runner: RunsQueries, filters: Filters, viewer: Viewer, scope: str | None
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """The adjusted relative likelihoods of each split the profile shows (``viewer_adjustment``'s tables, the
    Overview's default model) for these filters at the full level, and the queries run (the cells fetched once
    for both splits where no employer's scope guards a query)."""
    log = QueryLog(runner if scope is not None else _CellsOnce(runner), scope)
    tables = {
        split: viewer_adjustment(log, filters, split, reference, None, viewer).table
        for split, _, reference, _, _ in PROFILE_RATIOS
    }
    return tables, log.names


@dataclass(frozen=True)
class _Comparator:
    """What every organisation's profile shares for one set of filters and one viewer: the comparator's page Views
    (overview, outcomes, durations), the per-organisation counts of each measure after protection, every
    organisation's survival summary by group, and the queries run."""

    views: tuple
    referrals: dict[str, _Protected]
    outcomes: _Protected
    durations: _Protected
    survival: pd.DataFrame
    queries: tuple[str, ...]
    # At the protected level: _still_open_cells (exact, never shown) with their totals (_still_open_totals).
    still_open: tuple[pd.DataFrame, pd.DataFrame, frozenset] | None = None
    # At the full level: the comparator's adjusted relative likelihoods by split (``viewer_adjustment``'s table),
    # fitted once for every organisation's profile.
    adjusted: dict[str, pd.DataFrame] | None = None
    # The exact ``referrals_by_org_group`` rows by split with the parameters asked (never shown), and where each
    # organisation's rows are: the organisation's own Overview sums its rows instead of scanning the cases again.
    by_org: tuple[tuple[str, dict, pd.DataFrame, dict], ...] = ()

    def organisation_rows(self, org: str) -> list[tuple[dict, pd.DataFrame]]:
        """For each split, the parameters ``referrals_by_org_group`` was asked with, narrowed to ``org``, and that
        organisation's rows of it (the rows that query returns for the organisation filter ``[org]``)."""
        out = []
        for _, asked, rows, where in self.by_org:
            out.append(({**asked, "orgs": [org]}, rows.iloc[where.get(org, np.empty(0, dtype=np.intp))]))
        return out


# The comparators computed lately, by database version, filters, split, reference, viewer level and rule: a person
# moving from one organisation to the next, the next employer, or a page rerun, reuses them. Nothing in them is
# changed after. An employer's scope changes none of their numbers (their geography is checked, not narrowed; the
# other organisations' names the by-organisation counts carry are not used), so the scope guard checks the
# geography for each employer before a comparator is reused.
_COMPARATORS: OrderedDict[tuple, _Comparator] = OrderedDict()
_COMPARATORS_KEPT = 16
_COMPARATORS_LOCK = threading.Lock()  # Streamlit runs each session in its own thread
# The comparators being computed, each with the event set when it is done (kept or failed).
_COMPUTING: dict[tuple, threading.Event] = {}


def forget_comparators() -> None:
    """Drop every shared comparator (the benchmark's first-profile timing; a test of a fresh profile)."""
    with _COMPARATORS_LOCK:
        _COMPARATORS.clear()


def opening_filters(runner: RunsQueries) -> Filters:
    """The filters a page opens on: every financial year in the data, from the first to the latest, and nothing
    else chosen (what the sidebar selects before anyone touches it; an employer's own organisation, which it also
    preselects, does not narrow the comparator)."""
    years = [int(y) for y in runner.run("financial_years", {})["fy_start"]]
    return Filters(fy_from=years[0], fy_to=years[-1]) if years else Filters()


def prepare_comparators(
    runner: RunsQueries, filters: Filters, split: str, reference: str, levels: Iterable[str], rule: Rule
) -> None:
    """Compute and keep the comparator for these filters at each viewer level, before anyone asks for a profile:
    the server does it for the filters its pages open on, when it starts and after each new load
    (``parity.serve``), so an employer's first profile shares it as the next one does. Comparators of any other
    database version are dropped: no page asks for them again."""
    version = getattr(runner, "data_version", None)
    with _COMPARATORS_LOCK:
        for key in [key for key in _COMPARATORS if key[0] != version]:
            del _COMPARATORS[key]
    for level in levels:
        _comparator(runner, replace(filters, orgs=()), split, reference, Viewer(level), rule, None)  # type: ignore[arg-type]


def _comparator(
    runner: RunsQueries, everywhere: Filters, split: str, reference: str, viewer: Viewer, rule: Rule, scope: str | None
) -> _Comparator:
    """The comparator for these filters: one computed lately (``_COMPARATORS``), or, while another thread is
    computing the same one (the server preparing it, or another person's first profile), that one when it is done;
    else computed here and kept."""
    version = getattr(runner, "data_version", None)
    key = (version, everywhere, split, reference, viewer.level, rule)
    ScopeGuard(runner, scope).check({k: v for k, v in everywhere.params().items() if k in GEOGRAPHY_PARAMS})
    if version is None:
        return _computed_comparator(runner, everywhere, split, reference, viewer, rule, scope)
    while True:
        with _COMPARATORS_LOCK:
            found = _COMPARATORS.get(key)
            if found is not None:
                _COMPARATORS.move_to_end(key)
                return found
            pending = _COMPUTING.get(key)
            if pending is None:
                done = _COMPUTING[key] = threading.Event()
                break
        # Another thread is computing it: wait, then look again (if that thread failed, this one computes it).
        pending.wait()
    try:
        found = _computed_comparator(runner, everywhere, split, reference, viewer, rule, scope)
        with _COMPARATORS_LOCK:
            _COMPARATORS[key] = found
            while len(_COMPARATORS) > _COMPARATORS_KEPT:
                _COMPARATORS.popitem(last=False)
        return found
    finally:
        with _COMPARATORS_LOCK:
            del _COMPUTING[key]
        done.set()


def _computed_comparator(
    runner: RunsQueries, everywhere: Filters, split: str, reference: str, viewer: Viewer, rule: Rule, scope: str | None
) -> _Comparator:
    later = _later_views(runner, everywhere, split, reference, viewer, rule)
    fits = None if viewer.protected else _POOL.submit(_adjusted_tables, runner, everywhere, viewer, scope)
    with _settled(*later, fits), _settled_later() as also:
        log = QueryLog(runner, scope)
        declared = get_query("referrals_by_org_group").params
        splits = list(dict.fromkeys([*(r[0] for r in PROFILE_RATIOS), split]))
        by_org = _counts_by_organisation(log, everywhere, splits)
        # The comparator's Overview counts the same referrals by group: summed from these rather than run again
        # (not under an employer's scope, whose guard may change a query's rows).
        source: RunsQueries = runner
        kept: tuple = ()
        if scope is None and viewer.org is None:
            # Its own copies: the Overview sums them on the pool while this thread protects the originals.
            asked = [({"split": s, **everywhere.params(declared)}, rows.copy()) for s, rows in by_org.items()]
            source = _SummedOverOrganisations(runner, asked)
            kept = tuple(
                (s, {"split": s, **everywhere.params(declared)}, rows, rows.groupby("org_code", sort=False).indices)
                for s, rows in by_org.items()
            )
        overview = also(_overview(source, everywhere, split, reference, viewer, rule))
        referrals = {s: _Protected(rows, ["cases", "headcount"], ["grp"], viewer, rule) for s, rows in by_org.items()}
        by_org_outcomes = _Protected(
            run_split_query(log, "outcomes_by_org", everywhere, split),
            ["cases", *PROFILE_OUTCOMES],
            ["grp"],
            viewer,
            rule,
        )
        times = run_split_query(log, "durations_by_org", everywhere, split, bin_months=DURATION_BIN_MONTHS)
        by_org_durations = _Protected(times, ["n"], ["grp", "months", "closed"], viewer, rule)
        counted = by_org_durations.table.assign(n=by_org_durations.table["n"].fillna(0))
        survival = monthly_survival(counted, ["org_code", "grp"], DURATION_BIN_MONTHS)
        still_open = _still_open_totals(_still_open_cells(times) if viewer.protected else None)
        views = tuple(f.result() for f in (overview, *later))
        adjusted, fitted = fits.result() if fits is not None else (None, ())
    queries = tuple(dict.fromkeys([*log.names, *fitted]))
    return _Comparator(
        views, referrals, by_org_outcomes, by_org_durations, survival, queries, still_open, adjusted, kept
    )


def _still_open_cells(times: pd.DataFrame) -> pd.DataFrame:
    """Exact counts by organisation and group, from times to closure in whole months: the cases followed for
    ``OPEN_MONTHS`` (closed at any time, or open for at least that long) and those still open then, each with its
    cell key. Never shown: the input of the protected level's test."""
    late = times["months"] >= OPEN_MONTHS
    followed = times["closed"] | late
    cells = times.assign(
        followed=times["n"].where(followed, 0),
        followed_key=times["n_key"].where(followed, 0),
        still_open=times["n"].where(late, 0),
        still_open_key=times["n_key"].where(late, 0),
    )
    columns = ["followed", "followed_key", "still_open", "still_open_key"]
    return cells.groupby(["org_code", "grp"], sort=False)[columns].sum()


def _still_open_totals(cells: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame, frozenset] | None:
    """``_still_open_cells`` with every organisation's totals by group and the organisations present: what each
    organisation's ``_still_open_tests`` reads, computed once with the comparator."""
    if cells is None:
        return None
    if cells.empty:
        return cells, cells, frozenset()
    return cells, cells.groupby(level="grp", sort=False).sum(), frozenset(cells.index.get_level_values(0))


def _still_open_tests(
    still_open: tuple[pd.DataFrame, pd.DataFrame, frozenset], org: str, rule: Rule
) -> dict[str, tuple[stats.Test | None, float]]:
    """For each group, the organisation's share still open at ``OPEN_MONTHS`` against the rest's, by Fisher's exact
    test or chi-square on protected counts (each count perturbed, rounded and suppressed by its cell key, the rest's
    being everywhere's less the organisation's), and the difference of the shares; no test where a count is
    hidden."""
    cells, totals, present = still_open
    if cells.empty:
        return {}
    out: dict[str, tuple[stats.Test | None, float]] = {}
    for group, mine in cells.xs(org, level="org_code").iterrows() if org in present else []:
        rest = totals.loc[group] - mine
        counts, keys = ["still_open", "followed"], ["still_open_key", "followed_key"]
        a, n1 = protect(mine[counts].to_numpy(float), mine[keys].to_numpy(float), rule)
        c, n2 = protect(rest[counts].to_numpy(float), rest[keys].to_numpy(float), rule)
        if any(math.isnan(x) for x in (a, n1, c, n2)) or not (n1 > 0 and n2 > 0) or a > n1 or c > n2:
            out[group] = (None, math.nan)
            continue
        test = stats.compare_proportions(int(a), int(n1), int(c), int(n2))
        out[group] = (stats.Test(test.statistic, test.p_value, PROTECTED_OPEN_TEST), a / n1 - c / n2)
    return out


def _with_adjusted_ratios(
    rows: list[dict], own: dict[str, pd.DataFrame] | None, comparator: dict[str, pd.DataFrame] | None, viewer: Viewer
) -> list:
    """The profile's adjusted relative likelihood rows filled in: at the full level, the organisation's and the
    comparator's adjusted RL from the Overview's own model (``viewer_adjustment`` with every characteristic, as the
    Overview's default), each fitted on its own filters (within one organisation, organisation type and region
    have one value and drop out of the model; the comparator's, ``_Comparator.adjusted``, fitted once for every
    organisation); no test between the two. At the protected level no model is fitted and the row says why."""
    out = []
    for row in rows:
        split = row["split"]
        if not row["indicator"].startswith("adjusted_rl_"):
            out.append(row)
            continue
        if viewer.protected:
            out.append({**row, "hidden_reason": ADJUSTED_AT_FULL_LEVEL_ONLY})
            continue
        org_fit = _rows_by((own or {})[split], "group").get(row["group"])
        national_fit = _rows_by((comparator or {})[split], "group").get(row["group"])
        value = _value(org_fit, "adj_rl")
        out.append(
            {
                **row,
                "value": value,
                "lower": _value(org_fit, "adj_rl_lower"),
                "upper": _value(org_fit, "adj_rl_upper"),
                "national": _value(national_fit, "adj_rl"),
                "national_lower": _value(national_fit, "adj_rl_lower"),
                "national_upper": _value(national_fit, "adj_rl_upper"),
                "hidden_reason": None if value == value else NOT_ESTIMABLE,
            }
        )
    return out


def profile_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    org: str,
    org_name: str | None = None,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
    scope_org: str | None = None,
) -> ProfileView:
    """One organisation's profile beside its comparator (every organisation in the geography the filters choose;
    national without one), for a viewer. The organisation filter picks ``org``; it does not narrow the comparator.

    An employer (the viewer's organisation, or ``scope_org``) may profile only their own organisation, and every
    query goes through the scope guard.
    """
    viewer = default_viewer(viewer)
    scope = scope_org if scope_org is not None else viewer.org
    if scope is not None and org != scope:
        raise ValueError("an employer's view profiles its own organisation only")
    reference = checked_reference(split, reference)
    rule = rule or Rule()
    everywhere = replace(filters, orgs=())
    mine = replace(filters, orgs=(org,))
    groups = [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]
    # Only the numbers the profile shows: no trend icons, no tests between groups, no exclusion episodes (the
    # values the profile takes from these Views are the same with or without them).
    later = _later_views(runner, mine, split, reference, viewer, rule)
    fits = None if viewer.protected else _POOL.submit(_adjusted_tables, runner, mine, viewer, scope)
    with _settled(*later, fits):
        shared = _comparator(runner, everywhere, split, reference, viewer, rule, scope)
        # The organisation's Overview counts its referrals by group: summed from its rows of the comparator's counts
        # by organisation (asked with the same filters) rather than scanning the cases three more times; not under
        # an employer's scope, whose guard may change a query's rows.
        source: RunsQueries = runner
        if shared.by_org and scope is None:
            source = _SummedOverOrganisations(runner, shared.organisation_rows(org))
        overview = overview_view(source, mine, split, reference, viewer=viewer, rule=rule, adjust_for=(), icons=False)
        own = (overview, *(f.result() for f in later))
        own_adjusted, fitted = fits.result() if fits is not None else (None, ())
    overviews, outcomes, durations = ((own[k], shared.views[k]) for k in range(3))
    referrals, by_org_outcomes, by_org_durations = shared.referrals, shared.outcomes, shared.durations
    rows = _ratio_rows(overviews, referrals, org, rule)
    rows = _with_adjusted_ratios(rows, own_adjusted, shared.adjusted, viewer)
    rows += _rate_rows(overviews, referrals[split], org, split, groups, rule)
    rows += _outcome_rows(outcomes, by_org_outcomes, org, split, groups, rule)
    open_tests = _still_open_tests(shared.still_open, org, rule) if shared.still_open is not None else None
    rows += _duration_rows(
        durations, by_org_durations, org, split, groups, rule, viewer.protected, shared.survival, open_tests
    )
    table = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    # A value the page itself hides (a small count, or secondary suppression) is hidden here too, and says so.
    unexplained = table["value"].isna() & table["hidden_reason"].isna()
    table.loc[unexplained, "hidden_reason"] = SECONDARY_HIDDEN
    table.loc[table["hidden_reason"].notna(), "judgement"] = None
    rank = {section: i for i, section in enumerate(SECTIONS)}
    table = table.sort_values("section", key=lambda s: s.map(rank), kind="stable", ignore_index=True)
    return ProfileView(
        org=org,
        org_name=org_name or org,
        split=split,
        reference=reference,
        comparator_national=everywhere.is_national,
        organisations=int(referrals[split].table["org_code"].nunique()),
        rows=table,
        queries=tuple(
            dict.fromkeys([*(q for view in (*own, *shared.views) for q in view.queries), *shared.queries, *fitted])
        ),
    )

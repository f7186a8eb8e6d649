"""An organisation's profile beside national (the Organisation page's spine chart, as Fingertips draws one): for each
indicator, the organisation's value, the comparator's (national, or every organisation in the regions and types
chosen), the range across organisations, and whether the organisation differs from the rest of the comparator by
the test that fits the measure.

The organisation's and the comparator's values are the very numbers the Concern rates, Outcomes and Durations
pages show for the same filters (with the organisation picked, and without): the same functions compute them
from counts that add up to the pages' counts (one query by organisation serves the organisation, the comparator,
the range across organisations and the test against the rest; durations read the Durations page's own query).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures.common import QueryLog, RunsQueries, checked_reference, disclose_summary, run_split_query
from parity.measures.durations import DAYS_PER_MONTH, _disclose_survival, _survival_by_group
from parity.measures.organisations import _expected
from parity.measures.outcomes import OUTCOME_LABELS, _compare_proportions, _disclose_proportions
from parity.measures.referrals import summarise_rates

# The shares of cases the profile compares, in the order of the pathway.
PROFILE_OUTCOMES: tuple[str, ...] = (
    "exclusion_or_suspension",
    "formal_without_informal",
    "restriction",
    "regulator_referral",
)
OPEN_MONTHS = 12
# The relative likelihoods of referral the profile shows: (split, group compared, reference, label).
PROFILE_RATIOS: tuple[tuple[str, str, str, str], ...] = (
    ("ethnic_minority", contract.ETHNIC_MINORITY, contract.WHITE, "by ethnicity"),
    ("uk_graduate", contract.NON_UK_GRADUATE, contract.UK_GRADUATE, "by place of qualification"),
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
    "rl": "concern_rates",
    "rate": "concern_rates",
    "outcome": "outcomes",
    "median": "durations",
    "open": "durations",
}

# The hook for adjusted relative likelihoods: a function (runner, filters, split, group, reference, org) returning
# (org value, comparator value) once Parity has an adjusted model. Until then the profile shows the rows with a
# reason, not a number.
AdjustedRatio = Callable[[RunsQueries, Filters, str, str, str, str], tuple[float, float]]
ADJUSTED_RATIO: AdjustedRatio | None = None
NOT_YET_ADJUSTED = "not yet available: Parity has no adjusted model yet"

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
    records = table.to_dict("records")
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in records}


class _Counts:
    """Each split's referral counts by organisation, profession and group (one query per split, run once), and the
    Concern rates page's summary (rates, relative likelihoods, disclosure) for one organisation or for all of them,
    from those counts: the sums of one query equal the page's own query's counts for the same filters."""

    def __init__(self, log: QueryLog, filters: Filters, scope_org: str | None, rule: Rule) -> None:
        self._log, self._filters, self._scope, self._rule = log, filters, scope_org, rule
        self._by_split: dict[str, pd.DataFrame] = {}

    def by_org(self, split: str) -> pd.DataFrame:
        if split not in self._by_split:
            self._by_split[split] = run_split_query(
                self._log, "referrals_by_org", self._filters, split, scope_org=self._scope
            )
        return self._by_split[split]

    def summary(self, split: str, reference: str, org: str | None) -> pd.DataFrame:
        counts = self.by_org(split)
        if org is not None:
            counts = counts[counts["org_code"] == org]
        per_group = counts.groupby("grp", as_index=False)[["cases", "headcount"]].sum()
        national = org is None and self._filters.is_national
        return disclose_summary(summarise_rates(per_group, split, reference), national=national, rule=self._rule)


def _ratio_rows(referrals: _Counts, org: str, rule: Rule) -> list[dict]:
    rows = []
    for split, group, reference, label in PROFILE_RATIOS:
        org_row = _rows_by(referrals.summary(split, reference, org), "group").get(group)
        nat_row = _rows_by(referrals.summary(split, reference, None), "group").get(group)
        counts = referrals.by_org(split)
        by_org = counts.pivot_table(
            index="org_code", columns="grp", values=["cases", "headcount"], aggfunc="sum", fill_value=0
        )
        a, h = by_org.get(("cases", group)), by_org.get(("headcount", group))
        b, k = by_org.get(("cases", reference)), by_org.get(("headcount", reference))
        hidden_reason = None
        test = stats.Test(math.nan, math.nan, "z-test of the ratio of two rate ratios")
        low = high = math.nan
        shown_orgs = 0
        if a is not None and b is not None:
            shown = (a > rule.suppress_max) & (b > rule.suppress_max) & (h > 0) & (k > 0)
            low, high, shown_orgs = _range(((a / h) / (b / k))[shown])
            if org in by_org.index:
                rest = [float(x.sum() - x[org]) for x in (a, h, b, k)]
                test = stats.ratio_of_rate_ratios_test(
                    float(a[org]), float(h[org]), float(b[org]), float(k[org]), *rest
                )
                if _hidden(a[org], rule) or _hidden(b[org], rule):
                    hidden_reason = f"hidden: {rule.suppress_max} or fewer referrals in a group"
                    test = stats.Test(math.nan, math.nan, test.method)
        value = org_row["rl"] if org_row is not None else math.nan
        if hidden_reason is None and value != value:
            hidden_reason = "no referrals to compare in a group"
        rows.append(
            _row(
                section="rl",
                indicator=f"rl_{split}",
                label=f"Relative likelihood {label} (crude): {group} vs {reference}",
                group=group,
                split=split,
                unit="ratio",
                value=value,
                lower=org_row["rl_lower"] if org_row is not None else math.nan,
                upper=org_row["rl_upper"] if org_row is not None else math.nan,
                national=nat_row["rl"] if nat_row is not None else math.nan,
                national_lower=nat_row["rl_lower"] if nat_row is not None else math.nan,
                national_upper=nat_row["rl_upper"] if nat_row is not None else math.nan,
                range_low=low,
                range_high=high,
                range_orgs=shown_orgs,
                test=test.method,
                p_value=test.p_value,
                judgement=_judgement(test.p_value, test.statistic),
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
                hidden_reason=NOT_YET_ADJUSTED,
                page=SECTION_PAGES["rl"],
            )
        )
    return rows


def _rate_rows(referrals: _Counts, org: str, split: str, reference: str, groups: list[str], rule: Rule) -> list[dict]:
    org_table = _rows_by(referrals.summary(split, reference, org), "group")
    nat_table = _rows_by(referrals.summary(split, reference, None), "group")
    counts = referrals.by_org(split)
    by_profession = counts.groupby(["profession", "grp"], as_index=False)[["cases", "headcount"]].sum()
    by_profession["national_proportion"] = by_profession["cases"] / by_profession["headcount"].where(
        by_profession["headcount"] > 0
    )
    mine_counts = counts[counts["org_code"] == org].copy()
    mine_counts["expected"] = _expected(mine_counts, by_profession[["profession", "grp", "national_proportion"]])
    per_org = counts.groupby(["org_code", "grp"], as_index=False)[["cases", "headcount"]].sum()
    rows = []
    for group in groups:
        org_row, nat_row = org_table.get(group), nat_table.get(group)
        theirs = per_org[per_org["grp"] == group]
        shown = (theirs["headcount"] > 0) & ~theirs["cases"].between(1, rule.suppress_max)
        low, high, shown_orgs = _range((theirs["cases"] / theirs["headcount"] * 1000)[shown])
        observed = float(mine_counts.loc[mine_counts["grp"] == group, "cases"].sum())
        expected = float(mine_counts.loc[mine_counts["grp"] == group, "expected"].sum())
        hidden_reason, judgement = None, None
        if org_row is None or not org_row["headcount"] > 0:
            hidden_reason = "no practitioners of this group at the organisation"
        elif _hidden(observed, rule):
            hidden_reason = f"hidden: {rule.suppress_max} or fewer referrals"
        elif expected > 0:
            isr = stats.indirectly_standardised_ratio(observed, expected)
            # The standardised ratio's exact (or Byar) interval is the test: it excludes 1 at the 5% level.
            judgement = "higher" if isr.lower > 1 else "lower" if isr.upper < 1 else "similar"
        rows.append(
            _row(
                section="rate",
                indicator=f"rate_{group}",
                label=f"Referral rate: {group}",
                group=group,
                split=split,
                unit="rate",
                value=org_row["rate"] if org_row is not None else math.nan,
                lower=org_row["rate_lower"] if org_row is not None else math.nan,
                upper=org_row["rate_upper"] if org_row is not None else math.nan,
                national=nat_row["rate"] if nat_row is not None else math.nan,
                national_lower=nat_row["rate_lower"] if nat_row is not None else math.nan,
                national_upper=nat_row["rate_upper"] if nat_row is not None else math.nan,
                range_low=low,
                range_high=high,
                range_orgs=shown_orgs,
                test="standardised ratio (ISR), exact or Byar 95% interval against 1",
                p_value=math.nan,
                judgement=judgement,
                hidden_reason=hidden_reason,
                page=SECTION_PAGES["rate"],
            )
        )
    return rows


def _outcome_shares(counts: pd.DataFrame, split: str, reference: str, *, national: bool, rule: Rule) -> pd.DataFrame:
    """The Outcomes page's shares of the profile's measures (its Wilson intervals and disclosure), from
    ``outcomes_by_org`` rows of one organisation or of all of them: their sums are the page's counts."""
    per_group = counts.groupby("grp", as_index=False)[["cases", *PROFILE_OUTCOMES]].sum()
    grid = per_group.melt(
        id_vars=["grp", "cases"], value_vars=list(PROFILE_OUTCOMES), var_name="measure", value_name="events"
    )
    grid = grid.assign(level="all", kind="stage", denominator=grid["cases"])
    grid = grid[["level", "grp", "kind", "measure", "events", "denominator"]]
    shares = _compare_proportions(grid, split, reference, test=False).drop(columns="level")
    return _disclose_proportions(shares, national=national, rule=rule, within=["measure"])


def _closure_times(log: QueryLog, filters: Filters, split: str, reference: str, rule: Rule) -> tuple:
    """The Durations page's referral-to-closure summary by group (Kaplan–Meier, disclosure as there), and the
    (days, closed, n) rows it was computed from."""
    rows = run_split_query(log, "durations_by_group", filters, split, breakdown="none")
    if rows.empty:
        return pd.DataFrame(columns=["group"]), rows
    summary, _ = _survival_by_group(rows, "closed", [], split, reference, test=False)
    return _disclose_survival(summary, national=filters.is_national, rule=rule, within=[]), rows


def _outcome_rows(
    counts: pd.DataFrame, national: bool, org: str, split: str, reference: str, groups: list[str], rule: Rule
) -> list[dict]:
    org_shares = _rows_by(
        _outcome_shares(counts[counts["org_code"] == org], split, reference, national=False, rule=rule),
        "measure",
        "group",
    )
    nat_shares = _rows_by(_outcome_shares(counts, split, reference, national=national, rule=rule), "measure", "group")
    rows = []
    for measure in PROFILE_OUTCOMES:
        for group in groups:
            org_row = org_shares.get((measure, group))
            nat_row = nat_shares.get((measure, group))
            theirs = counts[counts["grp"] == group]
            shown = (theirs["cases"] > rule.suppress_max) & ~theirs[measure].between(1, rule.suppress_max)
            low, high, shown_orgs = _range((theirs[measure] / theirs["cases"])[shown])
            mine_row = theirs[theirs["org_code"] == org]
            a, n1 = (float(mine_row[measure].sum()), float(mine_row["cases"].sum()))
            c, n2 = float(theirs[measure].sum()) - a, float(theirs["cases"].sum()) - n1
            hidden_reason, test = None, None
            if n1 == 0:
                hidden_reason = "no cases in this group at the organisation"
            elif _hidden(a, rule) or _hidden(n1, rule):
                hidden_reason = f"hidden: {rule.suppress_max} or fewer cases or events"
            elif n2 > 0:
                test = stats.compare_proportions(int(a), int(n1), int(c), int(n2))
            rows.append(
                _row(
                    section="outcome",
                    indicator=f"{measure}_{group}",
                    label=f"{OUTCOME_LABELS[measure]}: {group}",
                    group=group,
                    split=split,
                    unit="share",
                    value=org_row["proportion"] if org_row is not None else math.nan,
                    lower=org_row["lower"] if org_row is not None else math.nan,
                    upper=org_row["upper"] if org_row is not None else math.nan,
                    national=nat_row["proportion"] if nat_row is not None else math.nan,
                    national_lower=nat_row["lower"] if nat_row is not None else math.nan,
                    national_upper=nat_row["upper"] if nat_row is not None else math.nan,
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


def monthly_survival(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
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
    binned["end"] = binned["months"] + 1
    reached = binned[binned["survival"] <= 0.5].groupby(keys, sort=False)["end"].min()
    followed = grouped["months"].max()
    before = binned[binned["end"] <= OPEN_MONTHS].groupby(keys, sort=False)["survival"].min()
    out = grouped["left"].sum().rename("n").to_frame()
    out["median"] = reached.reindex(out.index)
    out["open"] = before.reindex(out.index).fillna(1.0).where(followed.reindex(out.index) >= OPEN_MONTHS)
    return out.reset_index()


def _binned(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    closed = rows["n"].where(rows["closed"], 0)
    frame = rows[[*keys, "months"]].assign(closed=closed, left=rows["n"])
    return frame.groupby([*keys, "months"], as_index=False, sort=False)[["closed", "left"]].sum()


def _duration_rows(
    log: QueryLog, filters: Filters, mine: Filters, org: str, split: str, reference: str, groups: list[str], rule: Rule
) -> list[dict]:
    org_summary, mine_closures = _closure_times(log, mine, split, reference, rule)
    nat_summary, all_closures = _closure_times(log, filters, split, reference, rule)
    per_org = monthly_survival(run_split_query(log, "durations_by_org", filters, split), ["org_code", "grp"])
    rows = []
    for group in groups:
        org_row = _rows_by(org_summary, "group").get(group)
        nat_row = _rows_by(nat_summary, "group").get(group)
        theirs = per_org[(per_org["grp"] == group) & (per_org["n"] > rule.suppress_max)]
        ours = mine_closures[mine_closures["grp"] == group]
        everyone = all_closures[all_closures["grp"] == group]
        rest = everyone.merge(ours, on=["level", "grp", "days", "closed"], how="left", suffixes=("", "_org"))
        rest["n"] = rest["n"] - rest["n_org"].fillna(0)
        rest = rest[rest["n"] > 0]
        n = float(ours["n"].sum())
        hidden_reason, test = None, None
        if n == 0:
            hidden_reason = "no cases in this group at the organisation"
        elif _hidden(n, rule):
            hidden_reason = f"hidden: {rule.suppress_max} or fewer cases"
        elif not rest.empty:
            test = stats.logrank(
                ours["days"].to_numpy(float),
                ours["closed"].to_numpy(float),
                rest["days"].to_numpy(float),
                rest["closed"].to_numpy(float),
                weights_a=ours["n"].to_numpy(float),
                weights_b=rest["n"].to_numpy(float),
            )
        # Slower closure than the rest: more of the organisation's cases still open at each time.
        slower = _still_open_share(ours, OPEN_MONTHS) - _still_open_share(rest, OPEN_MONTHS) if test else 0.0
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
            low, high, shown_orgs = _range(theirs[column].dropna())
            reason = hidden_reason
            if reason is None and value != value:
                reason = (
                    "not reached: fewer than half the cases have closed"
                    if section == "median"
                    else (f"no case followed for {OPEN_MONTHS} months")
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
                    test=test.method if test else "log-rank, against the rest",
                    p_value=test.p_value if test else math.nan,
                    judgement=_judgement(test.p_value, slower) if test and reason is None else None,
                    hidden_reason=reason,
                    page=SECTION_PAGES[section],
                )
            )
    return rows


def _value(row: dict | None, column: str) -> float:
    return math.nan if row is None else float(row[column])


def _months(row: dict | None, column: str) -> float:
    value = _value(row, column)
    return value / DAYS_PER_MONTH if math.isfinite(value) else (math.inf if value == math.inf else math.nan)


def _still_open_share(rows: pd.DataFrame, months: int) -> float:
    """The crude share of cases open (or censored) beyond ``months``: only the sign of a difference is used."""
    total = rows["n"].sum()
    return float(rows.loc[rows["days"] > months * DAYS_PER_MONTH, "n"].sum() / total) if total else 0.0


def profile_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    org: str,
    org_name: str | None = None,
    rule: Rule | None = None,
    scope_org: str | None = None,
) -> ProfileView:
    """One organisation's profile beside its comparator (every organisation in the geography the filters choose;
    national without one). The organisation filter picks ``org``; it does not narrow the comparator.

    With an employer's ``scope_org`` only the employer's own organisation may be profiled, and every query goes
    through the scope guard.
    """
    if scope_org is not None and org != scope_org:
        raise ValueError("an employer's view profiles its own organisation only")
    reference = checked_reference(split, reference)
    rule = rule or Rule()
    log = QueryLog(runner, scope_org)
    everywhere = replace(filters, orgs=())
    mine = replace(filters, orgs=(org,))
    groups = [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]
    referrals = _Counts(log, everywhere, scope_org, rule)
    outcomes = run_split_query(log, "outcomes_by_org", everywhere, split)
    rows = _ratio_rows(referrals, org, rule)
    rows += _rate_rows(referrals, org, split, reference, groups, rule)
    rows += _outcome_rows(outcomes, everywhere.is_national, org, split, reference, groups, rule)
    rows += _duration_rows(log, everywhere, mine, org, split, reference, groups, rule)
    table = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    rank = {section: i for i, section in enumerate(SECTIONS)}
    table = table.sort_values("section", key=lambda s: s.map(rank), kind="stable", ignore_index=True)
    organisations = referrals.by_org(split)["org_code"].nunique()
    return ProfileView(
        org=org,
        org_name=org_name or org,
        split=split,
        reference=reference,
        comparator_national=everywhere.is_national,
        organisations=int(organisations),
        rows=table,
        queries=log.names,
    )

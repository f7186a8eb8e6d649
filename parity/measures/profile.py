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
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule
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
    records = table.to_dict("records")
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in records}


class _Protected:
    """The per-organisation counts of one measure for the viewer (exact at the full level; at the protected level
    perturbed, rounded and suppressed, each organisation's cells being the parts of the comparator's whole), and
    the organisation's and the rest's sums of them for a test. A hidden cell of the rest counts as 0."""

    def __init__(self, table: pd.DataFrame, counts: list[str], by: list[str], viewer: Viewer, rule: Rule) -> None:
        sums = [c for c in table.columns if c in counts or c.removesuffix("_key") in counts]
        summed = table.groupby(["org_code", *by], as_index=False, sort=False)[sums].sum()
        self.table = protect_counts(summed, counts, viewer=viewer, rule=rule, wholes_within=[tuple(by)])

    def of(self, org: str) -> pd.DataFrame:
        return self.table[self.table["org_code"] == org]

    def rest(self, org: str) -> pd.DataFrame:
        return self.table[self.table["org_code"] != org]


def _ratio_rows(overviews: tuple, referrals: dict[str, _Protected], org: str, rule: Rule) -> list[dict]:
    rows = []
    for split, group, reference, label, table in PROFILE_RATIOS:
        org_row = _rows_by(getattr(overviews[0], table), "group").get(group)
        nat_row = _rows_by(getattr(overviews[1], table), "group").get(group)
        counts = referrals[split].table
        by_org = counts.pivot_table(index="org_code", columns="grp", values=["cases", "headcount"], aggfunc="sum")
        a, h = by_org.get(("cases", group)), by_org.get(("headcount", group))
        b, k = by_org.get(("cases", reference)), by_org.get(("headcount", reference))
        hidden_reason = None
        test = stats.Test(math.nan, math.nan, "z-test of the ratio of two rate ratios")
        low = high = math.nan
        shown_orgs = 0
        if a is not None and b is not None:
            shown = (a > 0) & (b > 0) & (h > 0) & (k > 0)
            low, high, shown_orgs = _range(((a / h) / (b / k))[shown])
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


def _rate_rows(
    overviews: tuple, referrals: _Protected, org: str, split: str, groups: list[str], rule: Rule
) -> list[dict]:
    org_table = _rows_by(overviews[0].summary, "group")
    nat_table = _rows_by(overviews[1].summary, "group")
    per_org = referrals.table
    rows = []
    for group in groups:
        org_row, nat_row = org_table.get(group), nat_table.get(group)
        theirs = per_org[per_org["grp"] == group]
        shown = (theirs["headcount"] > 0) & theirs["cases"].notna()
        low, high, shown_orgs = _range((theirs["cases"] / theirs["headcount"] * 1000)[shown])
        mine, rest = theirs[theirs["org_code"] == org], theirs[theirs["org_code"] != org]
        observed, years = float(mine["cases"].sum(min_count=1)), float(mine["headcount"].sum(min_count=1))
        hidden_reason, judgement = None, None
        if org_row is None or not years > 0:
            hidden_reason = "no practitioners of this group at the organisation, or a hidden count"
        elif observed != observed:
            hidden_reason = f"hidden: {rule.suppress_max} or fewer referrals"
        else:
            rest_rate = rest["cases"].fillna(0).sum() / rest["headcount"].fillna(0).sum()
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
    table = counts.table
    rows = []
    for measure in PROFILE_OUTCOMES:
        for group in groups:
            org_row = org_shares.get((measure, group))
            nat_row = nat_shares.get((measure, group))
            theirs = table[table["grp"] == group]
            shown = (theirs["cases"] > 0) & theirs[measure].notna()
            low, high, shown_orgs = _range((theirs[measure] / theirs["cases"])[shown])
            mine, rest = theirs[theirs["org_code"] == org], theirs[theirs["org_code"] != org]
            a, n1 = float(mine[measure].sum(min_count=1)), float(mine["cases"].sum(min_count=1))
            c, n2 = float(rest[measure].fillna(0).sum()), float(rest["cases"].fillna(0).sum())
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


def _binned(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    closed = rows["n"].where(rows["closed"], 0)
    frame = rows[[*keys, "months"]].assign(closed=closed, left=rows["n"])
    return frame.groupby([*keys, "months"], as_index=False, sort=False)[["closed", "left"]].sum()


def _duration_rows(
    durations: tuple, counts: _Protected, org: str, split: str, groups: list[str], rule: Rule, protected: bool
) -> list:
    org_summary = durations[0].summary
    nat_summary = durations[1].summary
    org_summary = _rows_by(org_summary[org_summary["measure"] == "closure"], "group") if len(org_summary) else {}
    nat_summary = _rows_by(nat_summary[nat_summary["measure"] == "closure"], "group") if len(nat_summary) else {}
    table = counts.table.assign(n=counts.table["n"].fillna(0))
    per_org = monthly_survival(table, ["org_code", "grp"], DURATION_BIN_MONTHS)
    rows = []
    for group in groups:
        org_row, nat_row = org_summary.get(group), nat_summary.get(group)
        theirs = per_org[(per_org["grp"] == group) & (per_org["n"] > 0)]
        in_group = table[table["grp"] == group]
        # Months with no one in them (hidden cells count 0) carry nothing into the test.
        ours = in_group[(in_group["org_code"] == org) & (in_group["n"] > 0)]
        rest = in_group[in_group["org_code"] != org].groupby(["months", "closed"], as_index=False)["n"].sum()
        rest = rest[rest["n"] > 0]
        n = _value(org_row, "n")
        hidden_reason, test = None, None
        if org_row is None or n == 0:
            hidden_reason = "no cases in this group at the organisation"
        elif n != n:
            hidden_reason = f"hidden: {rule.suppress_max} or fewer cases"
        elif protected:
            # Not yet: an organisation's times, split by group and quarter, are mostly cells small enough for the
            # rule to hide or bend, and a log-rank test on them flags differences the exact data do not have.
            pass
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
        mine_open = monthly_survival(ours.assign(org_code=org), ["org_code"], DURATION_BIN_MONTHS)
        rest_open = monthly_survival(rest.assign(org_code="rest"), ["org_code"], DURATION_BIN_MONTHS)
        slower = 0.0
        if len(mine_open) and len(rest_open):
            slower = float(np.nan_to_num(mine_open["open"].iloc[0]) - np.nan_to_num(rest_open["open"].iloc[0]))
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
                    test=test.method
                    if test
                    else (
                        "log-rank against the rest: not run on protected numbers yet"
                        if protected
                        else "log-rank on quarters, against the rest"
                    ),
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


def _with_adjusted_ratios(rows: list[dict], runner: RunsQueries, both: tuple[Filters, Filters], viewer: Viewer) -> list:
    """The profile's adjusted relative likelihood rows filled in: at the full level, the organisation's and the
    comparator's adjusted RL from the Overview's own model (``viewer_adjustment`` with every characteristic, as the
    Overview's default), each fitted on its own filters (within one organisation, organisation type and region
    have one value and drop out of the model); no test between the two. At the protected level no model is fitted
    and the row says why."""
    out = []
    for row in rows:
        split = row["split"]
        if not row["indicator"].startswith("adjusted_rl_"):
            out.append(row)
            continue
        if viewer.protected:
            out.append({**row, "hidden_reason": ADJUSTED_AT_FULL_LEVEL_ONLY})
            continue
        reference = next(r[2] for r in PROFILE_RATIOS if r[0] == split)
        org_fit, national_fit = (
            _rows_by(viewer_adjustment(runner, f, split, reference, None, viewer).table, "group").get(row["group"])
            for f in both
        )
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
    log = QueryLog(runner, scope)
    everywhere = replace(filters, orgs=())
    mine = replace(filters, orgs=(org,))
    groups = [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]
    both = (mine, everywhere)
    # The pages' own Views (each runs its queries through the scope guard itself), without their adjusted models:
    # the profile fits only the two it shows (``_with_adjusted_ratios``).
    overviews = tuple(overview_view(runner, f, split, reference, viewer=viewer, rule=rule, adjust_for=()) for f in both)
    outcomes = tuple(outcomes_view(runner, f, split, reference, viewer=viewer, rule=rule) for f in both)
    durations = tuple(durations_view(runner, f, split, reference, viewer=viewer, rule=rule) for f in both)
    referrals = {
        s: _Protected(
            run_split_query(log, "referrals_by_org", everywhere, s, scope_org=scope),
            ["cases", "headcount"],
            ["grp"],
            viewer,
            rule,
        )
        for s in dict.fromkeys([*(r[0] for r in PROFILE_RATIOS), split])
    }
    by_org_outcomes = _Protected(
        run_split_query(log, "outcomes_by_org", everywhere, split), ["cases", *PROFILE_OUTCOMES], ["grp"], viewer, rule
    )
    times = run_split_query(log, "durations_by_org", everywhere, split)
    times["months"] = times["months"] // DURATION_BIN_MONTHS * DURATION_BIN_MONTHS
    by_org_durations = _Protected(times, ["n"], ["grp", "months", "closed"], viewer, rule)
    rows = _ratio_rows(overviews, referrals, org, rule)
    rows = _with_adjusted_ratios(rows, log, both, viewer)
    rows += _rate_rows(overviews, referrals[split], org, split, groups, rule)
    rows += _outcome_rows(outcomes, by_org_outcomes, org, split, groups, rule)
    rows += _duration_rows(durations, by_org_durations, org, split, groups, rule, viewer.protected)
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
            dict.fromkeys(q for view in (*overviews, *outcomes, *durations) for q in view.queries)
            | dict.fromkeys(log.names)
        ),
    )

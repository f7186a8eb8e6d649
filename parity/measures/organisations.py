"""Organisations against the comparator: every organisation's referral rate for one group on a funnel plot, and
one organisation's rates beside the comparator's with its indirectly standardised ratio (the Organisation page)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule, disclose, round_count
from parity.filters import Filters
from parity.measures.common import (
    QueryLog,
    RunsQueries,
    check_group,
    checked_reference,
    disclose_summary,
    run_split_query,
)
from parity.measures.referrals import summarise_rates

# Overdispersion is allowed for only with at least this many organisations (design §4, as FunnelPlotR).
MIN_ORGS_FOR_OVERDISPERSION = 15
ANOTHER_ORGANISATION = "Another organisation"
_FUNNEL_LIMITS = ("lower_95", "upper_95", "lower_998", "upper_998")


@dataclass(frozen=True)
class OrganisationView:
    """Every number the Organisation page shows, after disclosure control (organisations are below national level).

    ``funnel``: one row per organisation with practitioners of ``group``: org_code, org_name (None where the
    viewer may not see it), label (the name, or "Another organisation"), cases, headcount (practitioner-years),
    rate (per 1,000), the 95% and 99.8% limits around the count expected at the rate of every other organisation
    (per 1,000: lower_95, upper_95, lower_998, upper_998), significance (``stats.FUNNEL_BANDS`` labels from
    ``stats.rate_funnel``: exact or Byar count limits, each organisation against the rest), outlier (beyond a
    99.8% limit),
    is_selected, suppressed. A hidden count blanks the rate and its judgement.
    ``limits``: the funnel's curves: headcount and the four limits per 1,000.
    ``average``: the comparator's rate per 1,000 for ``group`` (pooled over every organisation shown).
    ``adjusted``: whether the limits allow for overdispersion (φ > 1 and at least 15 organisations: their distance
    from the expected count widened by √φ on the log scale); ``phi`` (NaN with fewer than 15 organisations).
    ``org_groups``: for the selected organisation, one row per group: the columns of ``summarise_rates``
    (relative likelihood within the organisation against the reference), national_rate, national_lower,
    national_upper, expected, isr, isr_lower, isr_upper (observed ÷ expected from the comparator's rates by
    profession in that group), suppressed. Empty without a selected organisation.
    ``isr``: the selected organisation's ratio for all its referrals, expected from the comparator's rates by
    profession and group (NaN where its count is hidden), with ``observed`` (disclosed) and ``expected``.
    ``queries``: the named queries run, in order.
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
    queries: tuple[str, ...]


def default_funnel_group(national: pd.DataFrame) -> str | None:
    """The group a funnel shows by default: the known, non-reference group with the largest national RL."""
    rows = national[~national["is_reference"].astype(bool) & ~national["group"].map(contract.is_unknown_group)]
    rows = rows[pd.to_numeric(rows["rl"], errors="coerce").notna()]
    if rows.empty:
        return None
    return str(rows.loc[pd.to_numeric(rows["rl"]).idxmax(), "group"])


def _funnel(counts: pd.DataFrame, selected: str | None) -> tuple[pd.DataFrame, pd.DataFrame, float, bool, float]:
    """Per-organisation rates for one group, each against the rest of the country (``stats.rate_funnel``), with the
    limits at its own expected count, and the funnel's curves around the comparator's rate."""
    orgs = counts.groupby("org_code", as_index=False).agg(
        org_name=("org_name", "first"), cases=("cases", "sum"), headcount=("headcount", "sum")
    )
    orgs = orgs[orgs["headcount"] > 0].reset_index(drop=True)
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
    empty_curve = pd.DataFrame(columns=["headcount", *_FUNNEL_LIMITS])
    if len(orgs) < 2 or orgs["cases"].sum() == 0:
        return pd.DataFrame(columns=columns), empty_curve, math.nan, False, math.nan
    average = float(orgs["cases"].sum() / orgs["headcount"].sum())
    funnel = stats.rate_funnel(orgs["cases"], orgs["headcount"], min_units=MIN_ORGS_FOR_OVERDISPERSION)
    rows = []
    for org, expected, band in zip(orgs.itertuples(index=False), funnel.expected, funnel.significance, strict=True):
        limits = {level: _rate_limits(expected, org.headcount, level, funnel.scale) for level in (0.95, 0.998)}
        rows.append(
            {
                "org_code": org.org_code,
                "org_name": org.org_name if isinstance(org.org_name, str) else None,
                "label": org.org_name if isinstance(org.org_name, str) else ANOTHER_ORGANISATION,
                "cases": int(org.cases),
                "headcount": int(org.headcount),
                "rate": org.cases / org.headcount * 1000,
                "lower_95": limits[0.95][0],
                "upper_95": limits[0.95][1],
                "lower_998": limits[0.998][0],
                "upper_998": limits[0.998][1],
                "significance": band,
                "outlier": band.endswith("99.8"),
                "is_selected": org.org_code == selected,
            }
        )
    grid = np.unique(np.geomspace(max(1.0, orgs["headcount"].min() * 0.8), orgs["headcount"].max() * 1.1, 120))
    curve = pd.DataFrame(
        [
            {
                "headcount": n,
                **dict(zip(_FUNNEL_LIMITS[:2], _rate_limits(average * n, n, 0.95, funnel.scale), strict=True)),
                **dict(zip(_FUNNEL_LIMITS[2:], _rate_limits(average * n, n, 0.998, funnel.scale), strict=True)),
            }
            for n in grid
        ]
    )
    return pd.DataFrame(rows, columns=columns), curve, average * 1000, funnel.scale > 1, funnel.phi


def _rate_limits(expected: float, headcount: float, level: float, scale: float) -> tuple[float, float]:
    """The count limits around an expected count, as rates per 1,000 at the headcount."""
    lower, upper = stats.rate_funnel_limits(expected, level, scale)
    return (lower / headcount * 1000, upper / headcount * 1000)


def _expected(org_rows: pd.DataFrame, rates: pd.DataFrame) -> pd.Series:
    """Expected referrals per row of ``org_rows`` (profession, grp, headcount) at the comparator's rates."""
    merged = org_rows.merge(rates, on=["profession", "grp"], how="left")
    return (merged["headcount"] * merged["national_proportion"].fillna(0.0)).set_axis(org_rows.index)


def organisation_view(
    runner: RunsQueries,
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
    reference = checked_reference(split, reference)
    rule = rule or Rule()
    if org is None:
        org = filters.orgs[0] if len(filters.orgs) == 1 else scope_org
    if scope_org is not None and org not in (None, scope_org):
        raise ValueError("an employer's view compares its own organisation only")
    everywhere = replace(filters, orgs=())
    log = QueryLog(runner)
    counts = run_split_query(log, "referrals_by_org", everywhere, split, scope_org=scope_org)
    comparator_national = everywhere.is_national

    national = summarise_rates(counts.groupby("grp", as_index=False)[["cases", "headcount"]].sum(), split, reference)
    if group is None:
        group = default_funnel_group(national) or reference
    else:
        check_group(split, group)
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
        queries=log.names,
    )

"""Organisations against the comparator: every organisation's referral rate for one group on a funnel plot, and
one organisation's rates beside the comparator's with its indirectly standardised ratio (the Organisation page)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.disclosure import Rule, protect_table
from parity.filters import Filters
from parity.measures.common import (
    Coverage,
    Family,
    QueryLog,
    RunsQueries,
    check_group,
    checked_reference,
    default_viewer,
    run_split_query,
    uncovered_cases,
)
from parity.measures.referrals import summarise_rates
from parity.viewer import Viewer

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
    ``stats.rate_funnel``: exact or Byar count limits, each organisation against the rest; an organisation with
    no referrals is "below" only when the exact chance of none at its expected count is under the limit's tail),
    outlier (beyond a 99.8% limit), is_selected, suppressed. A hidden count blanks the rate and its judgement.
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
    ``not_drawn``: how many organisations of the comparator have no point, by reason: "hidden" (a count hidden
    under the disclosure rule), "no_practitioners" (none of the group in the workforce figures),
    "more_referrals_than_practitioners" (the export's counts disagree).
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
    protected: bool = True
    not_drawn: dict[str, int] = field(default_factory=dict)
    coverage: Coverage | None = None  # the comparator's cases the rates leave out: no workforce rows for them


# The columns of a funnel's organisations, for rate and for share funnels alike.
_FUNNEL_COLUMNS = [
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
    "suppressed",
]


def _drawable(orgs: pd.DataFrame) -> pd.DataFrame:
    """The organisations a funnel can place: a positive denominator, and no more cases than it."""
    return orgs[~(orgs["headcount"] <= 0) & ~(orgs["cases"] > orgs["headcount"])].reset_index(drop=True)


def default_funnel_group(national: pd.DataFrame) -> str | None:
    """The group a funnel shows by default: the known, non-reference group with the largest national RL."""
    rows = national[~national["is_reference"].astype(bool) & ~national["group"].map(contract.is_unknown_group)]
    rows = rows[pd.to_numeric(rows["rl"], errors="coerce").notna()]
    if rows.empty:
        return None
    return str(rows.loc[pd.to_numeric(rows["rl"]).idxmax(), "group"])


def _funnel_band(proportion: float, limits: dict[float, tuple[float, float]], zero_chance: float = 1.0) -> str:
    """Where a proportion falls against the funnel. An organisation with no referrals is below a lower limit only
    when the exact chance of no referrals at the average is below the limit's tail (``zero_chance`` is that
    chance): a limit of 0, or one a whole referral would clear, does not make a zero "below"."""
    for level, high, low in stats.FUNNEL_BANDS:
        lower, upper = limits[level]
        if proportion > upper and not math.isclose(proportion, upper, rel_tol=1e-9, abs_tol=1e-12):
            return high
        if proportion == 0:
            if lower > 0 and zero_chance < (1 - level) / 2:
                return low
        elif proportion < lower and not math.isclose(proportion, lower, rel_tol=1e-9, abs_tol=1e-12):
            return low
    return "similar"


def _limits(n: float, average: float, level: float, tau2: float | None) -> tuple[float, float]:
    if tau2 is None:
        return stats.proportion_funnel_limits(n, average, level)
    return stats.adjusted_proportion_funnel_limits(n, average, level, tau2)


def funnel_points(
    orgs: pd.DataFrame, selected: str | None, average: float, per: float = 1000
) -> tuple[pd.DataFrame, pd.DataFrame, float, bool, float]:
    """Per-organisation proportions for one group against ``average`` (the comparator's proportion), with
    (adjusted) funnel limits. ``orgs`` holds the viewer's counts (org_code, org_name, cases, headcount,
    suppressed): a hidden one (NaN) leaves the organisation without a rate or judgement, and outside the
    estimate of overdispersion. ``headcount`` is the denominator: practitioner-years for referral rates, cases at
    a step's start for a pathway's share. Rates, limits and the average come back × ``per``."""
    orgs = _drawable(orgs)
    columns = _FUNNEL_COLUMNS
    if orgs.empty or not average > 0:
        return (
            pd.DataFrame(columns=columns),
            pd.DataFrame(columns=["headcount", *_FUNNEL_LIMITS]),
            math.nan,
            False,
            math.nan,
        )
    known = orgs[orgs["cases"].notna() & orgs["headcount"].notna()]
    phi, tau2 = math.nan, None
    if len(known) >= MIN_ORGS_FOR_OVERDISPERSION:
        spread = stats.overdispersion(known["cases"], known["headcount"], kind="proportion")
        phi = spread.phi
        if spread.phi > 1:
            tau2 = spread.tau2
    rows = []
    for org in orgs.itertuples(index=False):
        if pd.isna(org.headcount):
            limits = {level: (math.nan, math.nan) for level in (0.95, 0.998)}
        else:
            limits = {level: _limits(org.headcount, average, level, tau2) for level in (0.95, 0.998)}
        proportion = org.cases / org.headcount if not (pd.isna(org.cases) or pd.isna(org.headcount)) else math.nan
        zero_chance = (1 - average) ** org.headcount if not pd.isna(org.headcount) else 1.0
        band = _funnel_band(proportion, limits, zero_chance) if not math.isnan(proportion) else None
        rows.append(
            {
                "org_code": org.org_code,
                "org_name": org.org_name if isinstance(org.org_name, str) else None,
                "label": org.org_name if isinstance(org.org_name, str) else ANOTHER_ORGANISATION,
                "cases": org.cases,
                "headcount": org.headcount,
                "rate": proportion * per,
                "lower_95": limits[0.95][0] * per,
                "upper_95": limits[0.95][1] * per,
                "lower_998": limits[0.998][0] * per,
                "upper_998": limits[0.998][1] * per,
                "significance": band,
                "outlier": bool(band and band.endswith("99.8")),
                "is_selected": org.org_code == selected,
                "suppressed": bool(org.suppressed),
            }
        )
    sizes = known["headcount"] if len(known) else orgs["headcount"].dropna()
    if sizes.empty:
        sizes = pd.Series([1.0])
    grid = np.unique(np.geomspace(max(1.0, sizes.min() * 0.8), max(sizes.max(), 1.0) * 1.1, 200))
    curve = pd.DataFrame(
        [
            {
                "headcount": n,
                **dict(zip(_FUNNEL_LIMITS[:2], (v * per for v in _limits(n, average, 0.95, tau2)), strict=True)),
                **dict(zip(_FUNNEL_LIMITS[2:], (v * per for v in _limits(n, average, 0.998, tau2)), strict=True)),
            }
            for n in grid
        ]
    )
    return pd.DataFrame(rows, columns=columns), curve, average * per, tau2 is not None, phi


def _funnel(
    orgs: pd.DataFrame, selected: str | None, average: float
) -> tuple[pd.DataFrame, pd.DataFrame, float, bool, float]:
    """Per-organisation rates for one group, each against the rest of the country (``stats.rate_funnel``), with
    the limits at its own expected count, and the funnel's curves around ``average`` (the comparator's rate).

    ``orgs`` holds the viewer's counts: an organisation with a hidden count (NaN) has no rate or judgement, and
    stays out of the leave-one-out comparator and the estimate of overdispersion (which use the shown counts
    only); its limits, where its headcount is shown, are drawn around ``average``."""
    orgs = _drawable(orgs)
    columns = _FUNNEL_COLUMNS
    empty_curve = pd.DataFrame(columns=["headcount", *_FUNNEL_LIMITS])
    known = orgs["cases"].notna() & orgs["headcount"].notna()
    if known.sum() < 2 or not average > 0 or orgs.loc[known, "cases"].sum() == 0:
        return pd.DataFrame(columns=columns), empty_curve, math.nan, False, math.nan
    funnel = stats.rate_funnel(
        orgs.loc[known, "cases"], orgs.loc[known, "headcount"], min_units=MIN_ORGS_FOR_OVERDISPERSION
    )
    bands = dict(zip(orgs.index[known], funnel.significance, strict=True))
    # Each organisation's expected count: the funnel's where its counts are shown, else around the comparator's
    # rate at its headcount (NaN where the headcount is hidden too).
    headcounts = orgs["headcount"].to_numpy(dtype=float)
    expected = average * headcounts
    expected[known.to_numpy()] = funnel.expected
    # Every organisation's limits at once (stats.rate_funnel_limits_many), as rates per 1,000 at its headcount.
    org_limits = {level: _rate_limits(expected, headcounts, level, funnel.scale) for level in (0.95, 0.998)}
    rows = []
    for k, (i, org) in enumerate(zip(orgs.index, orgs.itertuples(index=False), strict=True)):
        band = bands.get(i)
        limits = {level: (org_limits[level][0][k], org_limits[level][1][k]) for level in (0.95, 0.998)}
        rows.append(
            {
                "org_code": org.org_code,
                "org_name": org.org_name if isinstance(org.org_name, str) else None,
                "label": org.org_name if isinstance(org.org_name, str) else ANOTHER_ORGANISATION,
                "cases": org.cases,
                "headcount": org.headcount,
                "rate": org.cases / org.headcount * 1000 if i in bands else math.nan,
                "lower_95": limits[0.95][0],
                "upper_95": limits[0.95][1],
                "lower_998": limits[0.998][0],
                "upper_998": limits[0.998][1],
                "significance": band,
                "outlier": bool(band and band.endswith("99.8")),
                "is_selected": org.org_code == selected,
                "suppressed": bool(org.suppressed),
            }
        )
    sizes = orgs.loc[known, "headcount"]
    grid = np.unique(np.geomspace(max(1.0, sizes.min() * 0.8), max(sizes.max(), 1.0) * 1.1, 120))
    limits_95, limits_998 = (_rate_limits(average * grid, grid, level, funnel.scale) for level in (0.95, 0.998))
    curve = pd.DataFrame({"headcount": grid, **dict(zip(_FUNNEL_LIMITS, (*limits_95, *limits_998), strict=True))})
    return pd.DataFrame(rows, columns=columns), curve, average * 1000, funnel.scale > 1, funnel.phi


def _rate_limits(
    expected: np.ndarray, headcount: np.ndarray, level: float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """The count limits around each expected count, as rates per 1,000 at its headcount (NaN where the expected
    count is missing)."""
    lower, upper = stats.rate_funnel_limits_many(expected, level, scale)
    return (lower / headcount * 1000, upper / headcount * 1000)


def _expected(org_rows: pd.DataFrame, rates: pd.DataFrame) -> pd.Series:
    """Expected referrals per row of ``org_rows`` (profession, grp, headcount) at the comparator's rates."""
    merged = org_rows.merge(rates, on=["profession", "grp"], how="left")
    return (merged["headcount"] * merged["national_proportion"].fillna(0.0)).set_axis(org_rows.index)


def _summed(counts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts and their cell keys added up over the other columns (a cell's key is the sum of its records')."""
    sums = [c for c in ("cases", "cases_key", "headcount", "headcount_key") if c in counts]
    return counts.groupby(by, as_index=False, sort=False)[sums].sum()


def organisation_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    org: str | None = None,
    group: str | None = None,
    scope_org: str | None = None,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
) -> OrganisationView:
    """All the Organisation page's numbers: one query over every organisation (the organisation filter picks
    the organisation to compare, it does not narrow the funnel).

    ``org`` is the organisation to set beside the comparator (default: the filter's single organisation, else
    ``scope_org``). ``group`` is the funnel's group (default: ``default_funnel_group``). ``scope_org`` is an
    employer's own organisation: every other organisation stays unnamed. The comparator is national unless a
    region or organisation type is chosen, when it is every organisation in them.

    At the protected level the comparator's counts by group, each organisation's by group (the parts of the
    comparator's) and the selected organisation's by profession and group are protected first; the funnel's
    average, points and limits, the rates, ratios and the standardised ratios (observed and expected) are all
    computed from them. A hidden headcount cell adds half the hidden range to an expected count.
    """
    reference = checked_reference(split, reference)
    viewer = default_viewer(viewer)
    scope_org = scope_org if scope_org is not None else viewer.org
    rule = rule or Rule()
    if org is None:
        org = filters.orgs[0] if len(filters.orgs) == 1 else scope_org
    if scope_org is not None and org not in (None, scope_org):
        raise ValueError("an employer's view compares its own organisation only")
    everywhere = replace(filters, orgs=())
    log = QueryLog(runner, scope_org)
    counts = run_split_query(log, "referrals_by_org", everywhere, split, scope_org=scope_org)
    comparator_national = everywhere.is_national
    names = counts.groupby("org_code", sort=False)["org_name"].first()

    family = Family()
    family.add("national", _summed(counts, ["grp"]), split)
    by_org = _summed(counts, ["org_code", "grp"])
    family.add("orgs", by_org, split, ("org_code",))
    family.parts_of_group("orgs", with_total="national")
    mine = counts[counts["org_code"] == org] if org is not None else counts.iloc[0:0]
    family.add("mine", _summed(mine, ["profession", "grp"]), split, ("profession",), population="selected")
    family.add("professions", _summed(counts, ["profession", "grp"]), split, ("profession",))
    shown = family.protect(viewer, rule)

    national = summarise_rates(shown["national"], split, reference)
    if group is None:
        group = default_funnel_group(national) or reference
    else:
        check_group(split, group)
    at_group = national[national["group"] == group]
    average = math.nan
    if len(at_group) and at_group["headcount"].iloc[0] > 0:
        average = float(at_group["cases"].iloc[0] / at_group["headcount"].iloc[0])
    orgs = shown["orgs"][shown["orgs"]["grp"] == group].assign(org_name=lambda t: t["org_code"].map(names))
    funnel, curve, average, adjusted, phi = _funnel(orgs, org, average)
    not_drawn = {
        "hidden": int(pd.to_numeric(funnel["rate"], errors="coerce").isna().sum()),
        "no_practitioners": int(
            counts["org_code"].nunique() - (orgs["headcount"] > 0).sum() - orgs["headcount"].isna().sum()
        ),
        "more_referrals_than_practitioners": int((orgs["cases"] > orgs["headcount"]).sum()),
    }

    by_profession = shown["professions"]
    by_profession["national_proportion"] = by_profession["cases"] / by_profession["headcount"].where(
        by_profession["headcount"] > 0
    )
    rates = by_profession[["profession", "grp", "national_proportion"]]

    selected_name = None
    org_groups = pd.DataFrame()
    isr, observed, expected = stats.Ratio(math.nan, math.nan, math.nan), math.nan, math.nan
    if org is not None:
        selected_name = str(names.get(org)) if isinstance(names.get(org), str) else org
        cells = shown["mine"]
        if not cells.empty:
            # A hidden headcount cell is somewhere from 1 to suppress_max: it adds the middle of that range.
            cells["headcount"] = cells["headcount"].fillna((1 + rule.suppress_max) / 2)
            cells["expected"] = _expected(cells, rates)
            expected_by_group = cells.groupby("grp", as_index=False)["expected"].sum()
            per_group = shown["orgs"][shown["orgs"]["org_code"] == org].drop(columns="org_code")
            org_groups = summarise_rates(per_group, split, reference)
            org_groups = org_groups.merge(expected_by_group.rename(columns={"grp": "group"}), on="group", how="left")
            comparator = national.set_index("group")
            for column in ("rate", "rate_lower", "rate_upper"):
                org_groups[f"national_{column.replace('rate', '').strip('_') or 'rate'}"] = org_groups["group"].map(
                    comparator[column]
                )
            ratios = [
                stats.indirectly_standardised_ratio(int(c), e)
                if e > 0 and not pd.isna(c)
                else stats.Ratio(math.nan, math.nan, math.nan)
                for c, e in zip(org_groups["cases"], org_groups["expected"], strict=True)
            ]
            org_groups["isr"] = [r.value for r in ratios]
            org_groups["isr_lower"] = [r.lower for r in ratios]
            org_groups["isr_upper"] = [r.upper for r in ratios]
            total = _organisation_total(shown["orgs"], org, viewer, rule, mine)
            expected = float(cells["expected"].sum())
            observed = total
            if expected > 0 and not math.isnan(observed):
                isr = stats.indirectly_standardised_ratio(int(observed), expected)

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
        protected=viewer.protected,
        not_drawn=not_drawn,
        coverage=uncovered_cases(log, everywhere, viewer, rule),
    )


def _organisation_total(by_group: pd.DataFrame, org: str, viewer: Viewer, rule: Rule, exact: pd.DataFrame) -> float:
    """The organisation's referrals, all groups together, for the viewer: the cell of all its cases, protected
    with its own key (hidden when its exact count is small, or when exactly one group's count is hidden and
    the total would give it back)."""
    total = _summed(exact.assign(all="all"), ["all"])
    shown = protect_table(total, ["cases"], protected=viewer.protected, rule=rule)
    value = float(shown["cases"].iloc[0]) if len(shown) else math.nan
    if viewer.protected and by_group[by_group["org_code"] == org]["cases"].isna().sum() == 1:
        return math.nan
    return value

"""Pathways: how cases move from referral through the stages to their outcome, step by step, by group; where one
group's path diverges from the reference group's, and in which organisations (the Pathways page).

Follow-up is respected by restriction: every share is among cases referred at least ``FOLLOWUP_MONTHS`` months
before the extract date, so each case counted has had that long to reach the later steps (open cases among them
stay in the denominators of the stage steps; outcome steps are among their closed cases).
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
    FALSE_DISCOVERY_RATE,
    QueryLog,
    RunsQueries,
    check_group,
    checked_reference,
    default_viewer,
    drill_breakdown,
    order_groups,
    run_split_query,
)
from parity.measures.organisations import funnel_points
from parity.viewer import Viewer

# Cases referred at least this many months before the extract date: long enough for most to close.
FOLLOWUP_MONTHS = 12
BAND = (0.8, 1.25)
# The diagram's label for every case, whatever its group.
ALL_CASES = "All cases"


@dataclass(frozen=True)
class Step:
    """One step of the pathway: the cases at ``start`` (a count of pathways_by_group) that reached ``end``."""

    key: str
    start: str
    end: str
    start_label: str
    end_label: str

    @property
    def label(self) -> str:
        return f"{self.start_label} → {self.end_label}"


_FORMAL = "Formal investigation"
# The transition table's rows, in pathway order (a count named here is a column of pathways_by_group).
STEPS: tuple[Step, ...] = (
    Step("informal", "cases", "informal", "Referral", "informal resolution"),
    Step("formal_first", "cases", "formal_first", "Referral", "formal investigation without informal resolution first"),
    Step("escalated", "informal", "escalated", "Informal resolution", "formal investigation"),
    Step("excluded", "cases", "excluded", "Referral", "exclusion or suspension"),
    Step("restricted", "formal", "restricted", _FORMAL, "restriction of practice"),
    Step("assessed", "formal", "assessed", _FORMAL, "assessment"),
    Step("heard", "formal", "heard", _FORMAL, "disciplinary hearing"),
    Step("to_regulator", "formal", "to_regulator", _FORMAL, "referral to the regulator"),
    Step("dismissed", "closed", "dismissed", "Closed case", "dismissed or removed"),
    Step("sanctioned", "closed", "sanctioned", "Closed case", "formal sanction"),
)
STEP_BY_KEY: dict[str, Step] = {s.key: s for s in STEPS}
STEP_LABELS: dict[str, str] = {s.key: s.label for s in STEPS}
_STEP_RANK = {s.key: i for i, s in enumerate(STEPS)}

# The pathway diagram's nodes: (layer, key) -> label. Routes come from pathway_flows_by_group.
ENTRY_LABELS = {
    "informal": "Informal resolution first",
    "formal_first": "Formal investigation first",
    "none": "No stage recorded",
}
FURTHEST_LABELS = {
    "informal_only": "Informal only",
    "formal": "Formal investigation",
    "excluded": "Exclusion or suspension",
}
HEARING_LABEL = "Hearing"
OPEN_LABEL = "Still open"
OUTCOME_NODE_LABELS = {**contract.OUTCOMES, "open": OPEN_LABEL}

_TRANSITION_COLUMNS = (
    "level",
    "step",
    "label",
    "group",
    "events",
    "denominator",
    "share",
    "lower",
    "upper",
    "rr",
    "rr_lower",
    "rr_upper",
    "p_value",
    "test",
    "outside_band",
    "direction",
    "is_reference",
    "suppressed",
)


@dataclass(frozen=True)
class PathwaysView:
    """Every number the Pathways page shows, after disclosure control (statistics from the protected counts).

    ``transitions``: one row per step (``STEPS``) and group: step, label, group, events (cases that took the
    step), denominator (cases at its start), share, lower, upper (Wilson), rr, rr_lower, rr_upper (Katz, against
    the reference group), p_value, test (Fisher where an expected count is below 5, else chi-square), significant
    (Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across the table), outside_band (the whole interval outside
    0.80–1.25), flagged (both), direction, is_reference, suppressed. With a drill, the drilled and reference
    groups only, flagged as in the whole table.
    ``flows``: the routes of the pathway diagram, one row per group (and ``ALL_CASES``) and link: group, source,
    target (node labels), n (cases, disclosed), share of the group's cases with lower and upper (Wilson),
    suppressed.
    ``groups``: cases with enough follow-up per group (disclosed): group, cases, is_reference, suppressed.
    ``breakdown``: with a drill, ``step`` for the drilled and reference groups in each organisation type, region
    and concern type, with the ratio within the level (no tests); empty without a drill.
    ``funnel``: for ``funnel_step`` and ``funnel_group``, one row per organisation with cases at the step's
    start: org_code, org_name (None where the viewer may not see it), label, cases (took the step), headcount
    (at its start), rate (the share), the 95% and 99.8% limits (lower_95 ... upper_998), significance,
    outlier, is_selected, suppressed; ``limits`` its curves, ``average`` the pooled share, ``adjusted``
    and ``phi`` as on the Organisation page.
    ``tests``: tests in the table; ``flagged``: flagged rows shown. ``queries``: the named queries run, in order.
    """

    transitions: pd.DataFrame
    flows: pd.DataFrame
    groups: pd.DataFrame
    breakdown: pd.DataFrame
    funnel: pd.DataFrame
    limits: pd.DataFrame
    average: float
    adjusted: bool
    phi: float
    reference: str
    drill: str | None
    step: str
    funnel_step: str
    funnel_group: str
    national: bool
    protected: bool
    followup_months: int
    tests: int
    flagged: int
    queries: tuple[str, ...]

    @property
    def organisations(self) -> int:
        return len(self.funnel)


# --- Counts --------------------------------------------------------------------------------------


def viewer_counts(counts: pd.Series, *, protect: bool, rule: Rule) -> pd.Series:
    """The counts statistics are computed from: exact, or under the rule (hidden → NaN, others rounded).

    Suppression and rounding only, cell by cell: these queries carry no cell keys yet, so neither the cell-key
    perturbation nor the secondary suppression of ``parity.disclosure.protect_table`` is applied (a gap to close:
    the queries would sum the cases' record keys per count, and the View name its wholes)."""
    values = counts.astype(float)
    if not protect:
        return values
    # round_count, for a whole column at once.
    hidden = (values > 0) & (values <= rule.suppress_max)
    return (np.floor(values / rule.round_to + 0.5) * rule.round_to).mask(hidden)


def step_counts(counts: pd.DataFrame, steps: tuple[Step, ...] = STEPS) -> pd.DataFrame:
    """From pathways_by_group's rows (level, grp, count_name, n) to one row per level, group and step: events and
    denominator, zeros included."""
    wide = counts.groupby(["level", "grp", "count_name"])["n"].sum().unstack("count_name", fill_value=0)
    needed = {s.start for s in steps} | {s.end for s in steps}
    wide = wide.reindex(columns=sorted(needed), fill_value=0)
    parts = [
        pd.DataFrame(
            {
                "level": wide.index.get_level_values("level"),
                "grp": wide.index.get_level_values("grp"),
                "step": s.key,
                "events": wide[s.end].to_numpy(),
                "denominator": wide[s.start].to_numpy(),
            }
        )
        for s in steps
    ]
    if not parts or wide.empty:
        return pd.DataFrame(columns=["level", "grp", "step", "events", "denominator"])
    return pd.concat(parts, ignore_index=True)


def compare_steps(
    grid: pd.DataFrame, split: str, reference: str, *, protect: bool, rule: Rule, test: bool = True
) -> pd.DataFrame:
    """Shares with Wilson intervals, and risk ratios (Katz) and tests against the reference group within each level
    and step, all from the counts as the viewer may see them (``protect_counts``)."""
    grid = grid.copy()
    suppressed = (grid["events"].between(1, rule.suppress_max) | grid["denominator"].between(1, rule.suppress_max)) & (
        protect
    )
    grid["events"] = viewer_counts(grid["events"], protect=protect, rule=rule)
    grid["denominator"] = viewer_counts(grid["denominator"], protect=protect, rule=rule)
    grid["suppressed"] = suppressed
    # A hidden denominator hides its share: the events, even if shown, would give it away with the interval.
    grid.loc[grid["denominator"].isna(), "events"] = math.nan
    ref = grid.loc[grid["grp"] == reference, ["level", "step", "events", "denominator"]]
    grid = grid.merge(ref, on=["level", "step"], how="left", suffixes=("", "_ref"))
    grid = grid.assign(_g=order_groups(grid["grp"], split), _s=grid["step"].map(_STEP_RANK))
    grid = grid.sort_values(["level", "_s", "_g"], kind="stable", ignore_index=True)
    x, n = grid["events"].to_numpy(float), grid["denominator"].to_numpy(float)
    c, m = grid["events_ref"].to_numpy(float), grid["denominator_ref"].to_numpy(float)
    is_reference = (grid["grp"] == reference).to_numpy()
    usable = ~np.isnan(x) & ~np.isnan(n) & (n > 0)
    lower, upper = np.full(len(grid), math.nan), np.full(len(grid), math.nan)
    if usable.any():
        lower[usable], upper[usable] = stats.wilson_intervals(x[usable], n[usable])
    # Compared with the reference where both sides are known and have cases; the ratio only where both have events.
    compared = usable & ~is_reference & ~np.isnan(c) & ~np.isnan(m) & (m > 0)
    p_value, test_name = np.full(len(grid), math.nan), np.full(len(grid), "", dtype=object)
    if test and compared.any():
        p_value[compared], methods = stats.compare_proportions_many(x[compared], n[compared], c[compared], m[compared])
        test_name[compared] = methods
    rr, rr_lower, rr_upper = stats.risk_ratios(np.where(compared, x, np.nan), n, np.where(compared, c, np.nan), m)
    rr[is_reference] = 1.0
    outside = np.where(np.isnan(rr_lower) | is_reference, None, (rr_lower > BAND[1]) | (rr_upper < BAND[0]))
    direction = np.where(
        np.isnan(rr_lower) | is_reference,
        None,
        np.where(rr_lower > 1, "higher", np.where(rr_upper < 1, "lower", "similar")),
    )
    rows = {
        "level": grid["level"].to_numpy(),
        "step": grid["step"].to_numpy(),
        "label": grid["step"].map(STEP_LABELS).to_numpy(),
        "group": grid["grp"].to_numpy(),
        "events": x,
        "denominator": n,
        "share": np.where(usable, x / np.where(n > 0, n, 1), math.nan),
        "lower": lower,
        "upper": upper,
        "rr": rr,
        "rr_lower": rr_lower,
        "rr_upper": rr_upper,
        "p_value": p_value,
        "test": test_name,
        "outside_band": outside,
        "direction": direction,
        "is_reference": is_reference,
        "suppressed": grid["suppressed"].to_numpy(dtype=bool),
    }
    table = pd.DataFrame(rows, columns=list(_TRANSITION_COLUMNS))
    for column in ("outside_band", "direction"):
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    if not test:
        table = table.drop(columns=["p_value", "test"])
    return table


def flag_disparities(table: pd.DataFrame) -> pd.DataFrame:
    """``significant``: Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across every p-value of the table (None
    where untested); ``flagged``: significant and the whole ratio interval outside 0.80–1.25."""
    tested = table["p_value"].notna()
    significant = pd.Series(
        stats.benjamini_hochberg(table["p_value"].tolist(), alpha=FALSE_DISCOVERY_RATE), index=table.index
    )
    out = table.assign(significant=significant.astype(object).where(tested, None))
    out["flagged"] = (significant & out["outside_band"].eq(True)).astype(object).where(tested, None)
    return out


def largest_disparities(transitions: pd.DataFrame, limit: int = 3) -> pd.DataFrame:
    """The flagged rows, furthest from 1 on the log scale first (at most ``limit``)."""
    flagged = transitions[transitions["flagged"].eq(True)].copy()
    if flagged.empty:
        return flagged
    flagged["_distance"] = np.abs(np.log(flagged["rr"].astype(float)))
    return flagged.sort_values("_distance", ascending=False).head(limit).drop(columns="_distance")


# --- The pathway diagram ---------------------------------------------------------------------------


def _links(routes: pd.DataFrame) -> pd.DataFrame:
    """Routes (grp, entry, furthest, heard, outcome, n) to links between the diagram's nodes, summed."""
    referred = "Referred"
    entry = routes["entry"].map(ENTRY_LABELS)
    furthest = routes["furthest"].map(FURTHEST_LABELS)
    outcome = routes["outcome"].map(OUTCOME_NODE_LABELS).fillna(contract.OUTCOMES["other"])
    heard = routes["heard"].astype(bool)
    before_outcome = furthest.where(~heard, HEARING_LABEL)
    parts = [
        pd.DataFrame({"grp": routes["grp"], "source": referred, "target": entry, "n": routes["n"]}),
        pd.DataFrame({"grp": routes["grp"], "source": entry, "target": furthest, "n": routes["n"]}),
        pd.DataFrame({"grp": routes["grp"], "source": furthest, "target": HEARING_LABEL, "n": routes["n"]})[heard],
        pd.DataFrame({"grp": routes["grp"], "source": before_outcome, "target": outcome, "n": routes["n"]}),
    ]
    links = pd.concat(parts, ignore_index=True)
    # "No stage recorded" leads straight on to "No formal investigation": keep that link (its cases are there).
    return links.groupby(["grp", "source", "target"], as_index=False, sort=False)["n"].sum()


def pathway_flows(routes: pd.DataFrame, sizes: pd.Series, *, protect: bool, rule: Rule) -> pd.DataFrame:
    """Each group's links with their counts and shares of the group's cases (Wilson), as the viewer may see them."""
    columns = ["group", "source", "target", "n", "share", "lower", "upper", "suppressed"]
    if routes.empty:
        return pd.DataFrame(columns=columns)
    links = _links(routes)
    hidden = links["n"].between(1, rule.suppress_max) & protect
    n = viewer_counts(links["n"], protect=protect, rule=rule)
    total = viewer_counts(links["grp"].map(sizes).fillna(0), protect=protect, rule=rule)
    usable = n.notna() & total.notna() & (total > 0)
    lower, upper = np.full(len(links), math.nan), np.full(len(links), math.nan)
    if usable.any():
        lower[usable.to_numpy()], upper[usable.to_numpy()] = stats.wilson_intervals(
            np.minimum(n[usable], total[usable]), total[usable]
        )
    return pd.DataFrame(
        {
            "group": links["grp"],
            "source": links["source"],
            "target": links["target"],
            "n": n,
            "share": (np.minimum(n, total) / total).where(usable),
            "lower": lower,
            "upper": upper,
            "suppressed": hidden.to_numpy(),
        },
        columns=columns,
    )


# --- The View ------------------------------------------------------------------------------------


def default_step(transitions: pd.DataFrame, reference: str) -> tuple[str, str | None]:
    """The step and group the funnel shows by default: the largest flagged disparity, else referral to formal
    investigation without informal resolution first for the known group with the largest ratio there."""
    top = largest_disparities(transitions, 1)
    if not top.empty:
        return str(top["step"].iloc[0]), str(top["group"].iloc[0])
    rows = transitions[
        (transitions["step"] == "formal_first")
        & ~transitions["is_reference"].astype(bool)
        & ~transitions["group"].map(contract.is_unknown_group)
        & pd.to_numeric(transitions["rr"], errors="coerce").notna()
    ]
    if rows.empty:
        return "formal_first", None
    return "formal_first", str(rows.loc[pd.to_numeric(rows["rr"]).idxmax(), "group"])


def pathways_view(
    runner: RunsQueries,
    filters: Filters,
    split: str,
    reference: str | None = None,
    *,
    drill: str | None = None,
    step: str | None = None,
    funnel_step: str | None = None,
    funnel_group: str | None = None,
    selected_org: str | None = None,
    scope_org: str | None = None,
    followup_months: int = FOLLOWUP_MONTHS,
    viewer: Viewer | None = None,
    rule: Rule | None = None,
) -> PathwaysView:
    """All the Pathways page's numbers: the transition table, the diagram's routes and one step's funnel of
    organisations (every organisation: the organisation filter does not narrow the funnel); with a drill, ``step``
    (default: the drilled group's largest flagged step) broken down by organisation type, region and concern.

    ``selected_org`` is marked on the funnel (default: the filter's single organisation, else ``scope_org``);
    ``scope_org`` is an employer's own organisation: every other organisation on the funnel stays unnamed.
    At the protected level (``viewer``; protected by default) every count is protected, whatever narrows it, and
    every statistic is computed from the protected counts; at the full level they are exact.
    """
    reference = checked_reference(split, reference, drill)
    rule = rule or Rule()
    viewer = default_viewer(viewer)
    protect = viewer.protected
    for key in (step, funnel_step):
        if key is not None and key not in STEP_BY_KEY:
            raise ValueError(f"unknown step {key!r}; choose one of {', '.join(STEP_BY_KEY)}")
    if funnel_group is not None:
        check_group(split, funnel_group)
    national = filters.is_national
    if selected_org is None:
        selected_org = filters.orgs[0] if len(filters.orgs) == 1 else scope_org
    log = QueryLog(runner)

    def run(breakdown: str, chosen: Filters = filters) -> pd.DataFrame:
        return run_split_query(
            log, "pathways_by_group", chosen, split, breakdown=breakdown, followup_months=followup_months
        )

    # Every case has one organisation: without an organisation filter, the funnel's counts by organisation sum
    # to the table's, and one scan of the cases gives both.
    everywhere = replace(filters, orgs=())
    rows_by_org = run("org", everywhere)
    if filters.orgs:
        counts = run("none")
    else:
        counts = rows_by_org.groupby(["grp", "count_name"], as_index=False)["n"].sum().assign(level="all")
    transitions = compare_steps(step_counts(counts), split, reference, protect=protect, rule=rule)
    transitions = flag_disparities(transitions.drop(columns="level"))
    tests = int(transitions["p_value"].notna().sum())

    sizes = counts[counts["count_name"] == "cases"].groupby("grp")["n"].sum()
    groups = pd.DataFrame({"group": sizes.index, "cases": sizes.to_numpy()})
    groups = groups.sort_values("group", key=lambda s: order_groups(s, split), kind="stable", ignore_index=True)
    groups["is_reference"] = groups["group"] == reference
    groups["suppressed"] = groups["cases"].between(1, rule.suppress_max) & protect
    groups["cases"] = viewer_counts(groups["cases"], protect=protect, rule=rule)

    routes = run_split_query(log, "pathway_flows_by_group", filters, split, followup_months=followup_months)
    everyone = (
        routes.groupby(["entry", "furthest", "heard", "outcome"], as_index=False)["n"].sum().assign(grp=ALL_CASES)
    )
    totals = pd.concat([sizes, pd.Series({ALL_CASES: sizes.sum()})])
    flows = pathway_flows(pd.concat([everyone, routes], ignore_index=True), totals, protect=protect, rule=rule)

    shown = transitions
    if drill is not None and drill != reference:
        shown = transitions[transitions["group"].isin([drill, reference])].reset_index(drop=True)

    default_key, default_group = default_step(transitions, reference)
    funnel_step = funnel_step or default_key
    funnel_group = funnel_group or default_group or reference
    by_org = step_counts(rows_by_org, (STEP_BY_KEY[funnel_step],))
    by_org = by_org[(by_org["grp"] == funnel_group) & (by_org["denominator"] > 0)]
    names = log.run("organisations_list", {"scope_org": scope_org})
    named = dict(zip(names["org_code"], names["org_name"], strict=True))
    org_counts = pd.DataFrame(
        {
            "org_code": by_org["level"].to_numpy(),
            "org_name": by_org["level"].map(named).to_numpy(),
            "cases": by_org["events"].to_numpy(),
            "headcount": by_org["denominator"].to_numpy(),
        }
    )

    # The viewer's counts before any point or limit is computed; the centre is the country's share.
    def hidden(column: pd.Series) -> pd.Series:
        return column.between(1, rule.suppress_max) & protect

    orgs = org_counts.assign(
        cases=viewer_counts(org_counts["cases"], protect=protect, rule=rule),
        headcount=viewer_counts(org_counts["headcount"], protect=protect, rule=rule),
        suppressed=(hidden(org_counts["cases"]) | hidden(org_counts["headcount"])).to_numpy(),
    )
    country = viewer_counts(org_counts[["cases", "headcount"]].sum(), protect=protect, rule=rule)
    average = country["cases"] / country["headcount"] if country["headcount"] > 0 else math.nan
    funnel, curve, average, adjusted, phi = funnel_points(orgs, selected_org, average, per=1)

    breakdown = pd.DataFrame()
    drill_step = step or funnel_step
    if drill is not None:
        if step is None:
            mine = largest_disparities(transitions[transitions["group"] == drill], 1)
            drill_step = str(mine["step"].iloc[0]) if not mine.empty else funnel_step
        chosen_steps = (STEP_BY_KEY[drill_step],)

        def rows_for(dimension: str) -> pd.DataFrame:
            return step_counts(run(dimension), chosen_steps)

        def measure(grid: pd.DataFrame, at_national_level: bool) -> pd.DataFrame:
            return compare_steps(grid, split, reference, protect=protect, rule=rule, test=False)

        breakdown = drill_breakdown(rows_for, measure, drill=drill, reference=reference, filters=filters)

    return PathwaysView(
        transitions=shown,
        flows=flows,
        groups=groups,
        breakdown=breakdown,
        funnel=funnel,
        limits=curve,
        average=average,
        adjusted=adjusted,
        phi=phi,
        reference=reference,
        drill=drill,
        step=drill_step,
        funnel_step=funnel_step,
        funnel_group=funnel_group,
        national=national,
        protected=protect,
        followup_months=followup_months,
        tests=tests,
        flagged=int(shown["flagged"].eq(True).sum()),
        queries=log.names,
    )

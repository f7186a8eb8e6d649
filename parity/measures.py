"""Measures: named queries turned into the numbers Parity shows, with their intervals.

This is the one code path behind the dashboard pages and the summary CLI: SQL counts and sums,
``parity.stats`` computes every interval, ratio and test, and this module puts them together.
"""

from __future__ import annotations

import math

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
    rows = []
    for grp, cases, headcount in counts[["grp", "cases", "headcount"]].itertuples(index=False):
        cases, headcount = int(cases), int(headcount)
        if headcount > 0 and cases <= headcount:
            rate = cases / headcount * 1000
            rate_lower, rate_upper = stats.rate_interval(cases, headcount, per=1000)
        else:
            rate = rate_lower = rate_upper = math.nan
        is_reference = grp == reference
        if is_reference or ref_head == 0 or headcount == 0 or ref_cases == 0 or cases > headcount:
            ratio = stats.Ratio(1.0 if is_reference else math.nan, math.nan, math.nan)
            judgement = stats.Judgement(in_band=True, significant=False, direction="similar") if is_reference else None
        else:
            ratio = stats.risk_ratio(cases, headcount, ref_cases, ref_head)
            judgement = stats.ratio_judgement(ratio)
        rows.append(
            {
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
        )
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "direction", "small_numbers"])


def disclosed_referral_summary(
    db: Database, filters: Filters, split: str, reference: str | None, rule: Rule
) -> pd.DataFrame:
    """``referral_summary`` after disclosure control (below national level): what every view shows."""
    table = referral_summary(db, filters, split, reference)
    hidden_reference = bool(table.loc[table["is_reference"], "cases"].between(1, rule.suppress_max).any())
    table = disclose(
        table,
        counts=["cases", "headcount"],
        depends_on={c: ["cases"] for c in ("rate", "rate_lower", "rate_upper", "rl", "rl_lower", "rl_upper")},
        national=filters.is_national,
        rule=rule,
    )
    if hidden_reference and not filters.is_national:
        # Every ratio's denominator is the reference group's count, which is hidden.
        table.loc[~table["is_reference"], ["rl", "rl_lower", "rl_upper"]] = math.nan
    return table

"""What every measure shares: the checks on a split, its groups and its reference; running a named query for a
split and noting it; the drill-down's loop over breakdowns; false discovery control; and the one disclosure helper
for tables that compare groups with a reference group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import get_query
from parity.disclosure import Rule, disclose
from parity.filters import Filters

# Fewer referrals than this in a group: shown, with its wide interval, and flagged "small numbers".
SMALL_NUMBERS = 10
# Where a view tests many groups and measures, Benjamini–Hochberg holds the false discovery rate at this.
FALSE_DISCOVERY_RATE = 0.05

# The drill-down's breakdowns, in the order the pages show them, and their labels.
BREAKDOWNS: dict[str, str] = {"org_type": "organisation type", "region": "region", "concern": "concern type"}
_LEVEL_LABELS: dict[str, dict[str, str]] = {
    "org_type": contract.ORG_TYPES,
    "region": {r: r for r in contract.REGIONS},
    "concern": contract.CONCERN_TYPES,
}
# The judgement of a comparison: blanked with the comparison, or it would give the comparison away.
_JUDGEMENT_COLUMNS = ("in_band", "significant", "direction", "band")


# --- Running queries ---------------------------------------------------------------------------


class RunsQueries(Protocol):
    """Anything that runs a named query: ``parity.db.QueryRunner``, or the UI's cached stand-in for it."""

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...


class QueryLog:
    """A runner that notes the name of each query a View runs (each name once, in the order first run)."""

    def __init__(self, runner: RunsQueries) -> None:
        self._runner = runner
        self._names: list[str] = []

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        if name not in self._names:
            self._names.append(name)
        return self._runner.run(name, params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)


def run_split_query(runner: RunsQueries, name: str, filters: Filters, split: str, **extra: object) -> pd.DataFrame:
    """A named query for one split: the filters it declares, and ``extra`` parameters."""
    return runner.run(name, {"split": split, **filters.params(get_query(name).params), **extra})


# --- Splits, groups and references -------------------------------------------------------------


def default_reference(split: str, ethnicity_reference: str = contract.WHITE, pmq_reference: str = "UK") -> str:
    """The reference group for a split, honouring the settings' reference groups."""
    if split == "ethnic_group":
        return ethnicity_reference
    if split == "pmq_region":
        return contract.PMQ_REGIONS[pmq_reference]
    return contract.SPLITS[split].default_reference


def check_group(split: str, group: str) -> None:
    """Refuse a label that is not a group of the split (a drill, or a funnel's group)."""
    if group not in contract.SPLITS[split].groups:
        raise ValueError(f"{group!r} is not a group of the {contract.SPLITS[split].phrase} split")


def checked_reference(split: str, reference: str | None, drill: str | None = None) -> str:
    """The reference group for a view, after checking the split, the drill and the reference.

    The reference defaults to the split's (``default_reference``) and is never a "not stated" or "not known" group.
    """
    if split not in contract.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(contract.SPLITS)}")
    if drill is not None:
        check_group(split, drill)
    reference = reference or default_reference(split)
    if contract.is_unknown_group(reference):
        raise ValueError(f"{reference!r} cannot be a reference group: it is a 'not stated' or 'not known' group")
    return reference


def order_groups(groups: pd.Series, split: str) -> pd.Series:
    """Sort key: the contract's order for the split, unknown labels last."""
    order = {g: i for i, g in enumerate(contract.SPLITS[split].groups)}
    return groups.map(lambda g: order.get(g, len(order)))


def keep_drilled(table: pd.DataFrame, drill: str | None, reference: str) -> pd.DataFrame:
    """With a drill, the drilled and reference groups' rows only (every group's when the drill is the reference)."""
    if drill is None or drill == reference:
        return table
    return table[table["group"].isin([drill, reference])].reset_index(drop=True)


# --- Drill-down --------------------------------------------------------------------------------


def drill_breakdown(
    rows_for: Callable[[str], pd.DataFrame],
    measure: Callable[[pd.DataFrame, bool], pd.DataFrame],
    *,
    drill: str,
    reference: str,
    filters: Filters,
) -> pd.DataFrame:
    """A drill's table: the drilled and reference groups in each level of each of ``BREAKDOWNS``.

    ``rows_for(dimension)`` gives that breakdown's counts, with ``grp`` and ``level`` columns; ``measure(rows,
    national)`` turns them into disclosed figures, compared with the reference within each level. Levels follow the
    contract's order and get ``dimension`` and ``level_label`` columns. Organisation types and regions are below
    national level whatever the filters; concern types are only those the filter chose. Empty when no level has
    a case.
    """
    parts = []
    for dimension, labels in _LEVEL_LABELS.items():
        rows = rows_for(dimension)
        rows = rows[rows["grp"].isin([drill, reference])]
        if dimension == "concern" and filters.concerns:
            rows = rows[rows["level"].isin(filters.concerns)]
        if rows.empty:
            continue
        part = measure(rows, filters.is_national and dimension == "concern")
        if part.empty:
            continue
        rank = {level: i for i, level in enumerate(labels)}
        part = part.sort_values("level", key=lambda s: s.map(rank), kind="stable")
        part.insert(0, "level_label", part["level"].map(labels).fillna(part["level"]))
        part.insert(0, "dimension", dimension)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --- Tests -------------------------------------------------------------------------------------


def with_flags(table: pd.DataFrame, parts: Iterable[str] = ()) -> pd.DataFrame:
    """``flagged``: Benjamini–Hochberg at ``FALSE_DISCOVERY_RATE`` across the ``p_value``s of the view's family (None
    where a row is outside it).

    The family is the view's own comparisons of known groups: "not stated" and "not known" groups are data quality,
    reported with their p-value but not flagged against the reference, and a measure in ``parts`` (a part of a
    combined measure also tested) is not counted twice.
    """
    outside = table["group"].map(contract.is_unknown_group)
    if "measure" in table:
        outside |= table["measure"].isin(list(parts))
    in_family = table["p_value"].notna() & ~outside
    family = table["p_value"].where(in_family)
    flags = pd.Series(stats.benjamini_hochberg(family.tolist(), alpha=FALSE_DISCOVERY_RATE), dtype=object)
    return table.assign(flagged=flags.set_axis(table.index).where(in_family, None))


# --- Disclosure --------------------------------------------------------------------------------

_RATIO_COLUMNS = ("rate", "rate_lower", "rate_upper", "rl", "rl_lower", "rl_upper")
# Adjusted relative likelihoods (``measures.adjusted``), where a table has them: hidden with the crude ones.
_ADJUSTED_RATIO_COLUMNS = ("adj_rl", "adj_rl_lower", "adj_rl_upper")


def disclose_comparisons(
    table: pd.DataFrame,
    *,
    counts: Iterable[str],
    depends_on: Mapping[str, Iterable[str]],
    size: str,
    comparisons: Iterable[str],
    national: bool,
    rule: Rule,
    within: Iterable[str] = (),
    ratio: str | None = None,
) -> pd.DataFrame:
    """Disclosure control for a table of groups, each compared with the reference group of its block (the rows
    that share the ``within`` columns; the whole table without them).

    ``counts`` are suppressed or rounded and each ``depends_on`` column blanked where a count it is computed from
    is hidden (``parity.disclosure.disclose``). Below national level, where a block's reference group has a hidden
    ``size``, its other groups' ``comparisons`` are blanked too: their denominator would be hidden. A blank
    ``ratio`` takes its judgement (in band, significant, direction) with it, and an untested or blanked p-value
    its false-discovery flag.
    """
    within = list(within)
    out = disclose(table, counts=counts, depends_on=depends_on, national=national, rule=rule)
    if not national:
        _blank_where_reference_hidden(out, table, size, within, [c for c in comparisons if c in out], rule)
    if ratio is not None:
        hidden_ratio = out[ratio].isna() & ~out["is_reference"].astype(bool)
        if hidden_ratio.any():
            for column in _JUDGEMENT_COLUMNS:
                if column in out:
                    out[column] = out[column].astype(object).where(~hidden_ratio, None)
    if "flagged" in out and "p_value" in out:
        out["flagged"] = out["flagged"].where(out["p_value"].notna(), None)
    return out


def _blank_where_reference_hidden(
    shown: pd.DataFrame, exact: pd.DataFrame, size: str, within: list[str], columns: list[str], rule: Rule
) -> None:
    """Blank (in place) the comparisons of the blocks whose reference group has a hidden ``size``."""
    hidden = exact["is_reference"].astype(bool) & exact[size].between(1, rule.suppress_max)
    if not hidden.any():
        return
    if within:
        blocks = exact.loc[hidden, within].drop_duplicates()
        in_block = exact[within].merge(blocks, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    else:
        in_block = np.ones(len(exact), dtype=bool)
    shown.loc[in_block & ~shown["is_reference"].astype(bool).to_numpy(), columns] = math.nan


def disclose_summary(table: pd.DataFrame, *, national: bool, rule: Rule, within: tuple[str, ...] = ()) -> pd.DataFrame:
    """Disclosure control for tables of ``summarise_rates`` rows, compared within blocks of ``within`` columns.

    Cases and headcount are suppressed or rounded and each rate, ratio and bound that depends on a hidden count
    is blanked. Below national level, where a block's reference group has a hidden count, every ratio in that
    block is blanked too: its denominator would be hidden. Adjusted ratios, where present, go with the crude.
    """
    adjusted = [c for c in (*_ADJUSTED_RATIO_COLUMNS, "p_value") if c in table]
    out = disclose_comparisons(
        table,
        counts=["cases", "headcount"],
        depends_on={c: ["cases"] for c in (*_RATIO_COLUMNS, *adjusted)},
        size="cases",
        comparisons=["rl", "rl_lower", "rl_upper", *adjusted],
        national=national,
        rule=rule,
        within=within,
        ratio="rl",
    )
    if "adj_band" in out:
        out["adj_band"] = out["adj_band"].astype(object).where(out["adj_rl"].notna(), None)
    return out

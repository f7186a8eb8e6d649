"""What every measure shares: the checks on a split, its groups and its reference; running a named query for a
split and noting it; the drill-down's loop over breakdowns; false discovery control; and protecting a view's counts
together (``Family``) before any statistic is computed from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import get_query
from parity.disclosure import Rule, difference_error, nested_groups, protect_table, wholes_by
from parity.filters import Filters
from parity.measures.scope import ScopeGuard
from parity.viewer import PROTECTED, Viewer

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


# --- Running queries ---------------------------------------------------------------------------


class RunsQueries(Protocol):
    """Anything that runs a named query: ``parity.db.QueryRunner``, or the UI's cached stand-in for it."""

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...


class QueryLog:
    """A runner that notes the name of each query a View runs (each name once, in the order first run).

    With an employer's ``scope_org`` (the viewer's organisation) every query goes through ``ScopeGuard``: a View
    cannot show another organisation's figures through a narrow geography, whoever calls it.
    """

    def __init__(self, runner: RunsQueries, scope_org: str | None = None) -> None:
        self._runner = ScopeGuard(runner, scope_org)
        self._names: list[str] = []

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        if name not in self._names:
            self._names.append(name)
        return self._runner.run(name, params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def note(self, name: str) -> None:
        """Note a query as the View's without running it (its result was reused)."""
        if name not in self._names:
            self._names.append(name)

    @property
    def data_version(self) -> object:
        """The wrapped runner's database version (None when it has none)."""
        return getattr(self._runner, "data_version", None)


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


# --- Protecting the counts of a view, before anything is computed from them ---------------------


class Family:
    """The count tables of one view that describe the same people, protected together.

    Each table is added with the split its ``grp`` column follows and its ``blocks``: the columns whose rows the
    groups partition (none: the whole view's people; ``fy_start``: each year's; ``concern``: each concern type's).
    ``protect`` then applies the rule to every count of every table at the protected level, with secondary
    suppression over every whole the view lets a reader add up: the groups of each block; the same group in
    another table (the same cell shown twice); a coarse group and the finer groups that make it up in another
    table without blocks (ethnic minority and the ethnic groups; an ethnic group and its ethnicity × place of
    qualification cells); and ``extra`` wholes a view names (the years of a group and its period; the concern
    types of a group).
    """

    def __init__(self, counts: Iterable[str] = ("cases", "headcount")) -> None:
        self._counts = list(counts)
        self._tables: dict[str, tuple[pd.DataFrame, str, tuple[str, ...]]] = {}
        self._extra: list[tuple[str, tuple[str, ...], str | None]] = []
        self._not_partitions: set[str] = set()
        self._population: dict[str, str] = {}

    def add(
        self,
        name: str,
        table: pd.DataFrame,
        split: str,
        blocks: Iterable[str] = (),
        *,
        partition: bool = True,
        population: str = "view",
    ) -> None:
        """Add a count table. ``partition=False``: its groups are some of the split's only (a drill's two), so a
        block's rows are not the parts of a whole. Tables of different ``population`` (one organisation's cases
        beside every organisation's) are never the same people, so their cells are not compared."""
        self._tables[name] = (table.reset_index(drop=True), split, tuple(blocks))
        self._population[name] = population
        if not partition:
            self._not_partitions.add(name)

    def parts_of_group(self, name: str, *, with_total: str | None = None) -> None:
        """Within table ``name``, a group's rows across its blocks are the parts of one whole (the group's
        total, shown in table ``with_total`` when given): the years of a period, the levels of a breakdown."""
        self._extra.append((name, ("grp",), with_total))

    def _long(self) -> pd.DataFrame:
        frames = []
        for name, (table, _, blocks) in self._tables.items():
            frame = table.assign(_table=name, _row=np.arange(len(table)))
            frame["_block"] = table[list(blocks)].astype(str).agg("|".join, axis=1) if blocks and len(table) else ""
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _wholes(self, long: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
        """The wholes, and the cells that are totals (hidden as a second cell only as a last resort)."""
        wholes: list[np.ndarray] = []
        totals = np.zeros(len(long), dtype=bool)
        # ``long``'s index is 0..n-1 (``_long``): a row's label is its position.

        def position(labels: pd.Index) -> np.ndarray:
            return np.asarray(labels, dtype=np.int64)

        names = list(self._tables)
        for name in names:
            if name in self._not_partitions:
                continue
            rows = long[long["_table"] == name]
            wholes += [position(idx) for idx in rows.groupby("_block", sort=False).groups.values()]
        for name, columns, total in self._extra:
            rows = long[long["_table"] == name]
            for grp, idx in rows.groupby(list(columns), sort=False).groups.items():
                members = position(idx)
                if total is not None:
                    g = grp[0] if isinstance(grp, tuple) else grp
                    same = long.index[(long["_table"] == total) & (long["grp"] == g)]
                    totals[position(same)] = True
                    members = np.concatenate([members, position(same)])
                wholes.append(members)
        for i, a in enumerate(names):
            table_a, split_a, blocks_a = self._tables[a]
            for b in names[i + 1 :]:
                table_b, split_b, blocks_b = self._tables[b]
                if blocks_a != blocks_b or self._population[a] != self._population[b]:
                    continue
                rows_a, rows_b = long[long["_table"] == a], long[long["_table"] == b]
                pairs: list[tuple[str, tuple[str, ...], pd.DataFrame, pd.DataFrame]] = []
                if split_a == split_b:
                    pairs += [(g, (g,), rows_a, rows_b) for g in rows_a["grp"].unique()]
                else:
                    pairs += [(g, fine, rows_a, rows_b) for g, fine in nested_groups(split_a, split_b).items()]
                    pairs += [(g, fine, rows_b, rows_a) for g, fine in nested_groups(split_b, split_a).items()]
                for coarse, fine, coarse_rows, fine_rows in pairs:
                    for block, block_rows in coarse_rows.groupby("_block", sort=False):
                        top = block_rows.index[block_rows["grp"] == coarse]
                        in_fine = fine_rows[(fine_rows["_block"] == block) & fine_rows["grp"].isin(fine)]
                        if len(top) and len(fine) > 1:
                            totals[position(top)] = True
                        if len(top):
                            wholes.append(np.concatenate([position(top), position(in_fine.index)]))
        return wholes, totals

    def protect(self, viewer: Viewer, rule: Rule) -> dict[str, pd.DataFrame]:
        """Every table, its counts under the rule (exact at the full level), with a ``suppressed`` column."""
        if not self._tables:
            return {}
        long = self._long()
        wholes, totals = self._wholes(long) if viewer.protected else ([], None)
        shown = protect_table(long, self._counts, protected=viewer.protected, rule=rule, wholes=wholes, keep=totals)
        out = {}
        for name, (table, _, _) in self._tables.items():
            rows = shown[shown["_table"] == name].sort_values("_row")
            keep = [c for c in table.columns if not c.endswith("_key")]
            dtypes = {c: table[c].dtype for c in keep if c not in self._counts}
            out[name] = rows[[*keep, "suppressed"]].astype(dtypes).reset_index(drop=True)
        return out


def protect_counts(
    table: pd.DataFrame,
    counts: Iterable[str],
    *,
    viewer: Viewer,
    rule: Rule,
    wholes_within: Iterable[Iterable[str]] = ((),),
) -> pd.DataFrame:
    """One table's counts under the rule at the protected level, the rows sharing each of ``wholes_within``'s
    column lists being the parts of one whole (secondary suppression); exact at the full level."""
    table = table.reset_index(drop=True)
    # At the full level nothing is suppressed: the wholes are not needed.
    wholes = [w for columns in wholes_within for w in wholes_by(table, list(columns))] if viewer.protected else []
    return protect_table(table, counts, protected=viewer.protected, rule=rule, wholes=wholes)


def default_viewer(viewer: Viewer | None) -> Viewer:
    """A View computed without a viewer is protected: exact numbers must be asked for."""
    return PROTECTED if viewer is None else viewer


# --- Cases with no workforce figures -----------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Cases matching the filters whose organisation has no workforce rows for the case's financial year: every
    rate leaves them out (they have no practitioners to be counted against).

    ``by_year``: fy_start, financial_year, cases, suppressed, for the years with such cases; ``total``: all of
    them. ``counts``: what both come from, every case (``cases``) and the cases with workforce figures
    (``covered``), by year and in total (the last row, fy_start None), with ``suppressed``.

    At the full level the counts are exact and the cases left out are their difference. At the protected level
    the two counts are protected (each column's years and total one whole) and the cases left out are the
    difference of the protected counts (``derived``), never counted on their own: the count left out is a small
    third cell beside two large ones, and its bounds and theirs could meet and give all three back (issue 9). A
    difference of protected numbers tells nothing that they do not. So a year's number can be off by up to
    ``error`` either way, shows as 0 where the protected counts agree (the difference is never below 0), and is
    hidden (NaN) where one of the counts is; years whose counts are both hidden, or agree, are not listed."""

    by_year: pd.DataFrame
    total: float
    counts: pd.DataFrame
    derived: bool = False
    error: int = 0


def protect_coverage(rows: pd.DataFrame, viewer: Viewer, rule: Rule) -> Coverage:
    """``coverage_by_year`` rows (every case and the covered ones, with their cell keys, by year) under the rule
    at the protected level: the cases left out by year and in total (``Coverage``)."""
    rows = rows[["fy_start", "cases", "cases_key", "covered", "covered_key"]].reset_index(drop=True)
    total = pd.DataFrame({c: [None if c == "fy_start" else rows[c].sum()] for c in rows.columns})
    table = pd.concat([rows, total], ignore_index=True)
    keep = np.zeros(len(table), dtype=bool)
    keep[-1] = True
    counts = protect_table(
        table,
        ["cases", "covered"],
        protected=viewer.protected,
        rule=rule,
        wholes=[list(range(len(table)))],
        keep=keep,
    )
    left_out = counts["cases"] - counts["covered"]
    if viewer.protected:
        left_out = left_out.clip(lower=0)
        listed = left_out.gt(0) | (counts["cases"].isna() != counts["covered"].isna())
    else:
        listed = left_out.gt(0)
    by_year = pd.DataFrame({"fy_start": counts["fy_start"], "cases": left_out, "suppressed": left_out.isna()})
    by_year = by_year.iloc[:-1][listed.iloc[:-1].to_numpy()].reset_index(drop=True)
    by_year["fy_start"] = by_year["fy_start"].astype("int64")
    by_year.insert(1, "financial_year", by_year["fy_start"].map(lambda y: contract.financial_year_label(int(y))))
    total_left_out = float(left_out.iloc[-1])
    if counts[["cases", "covered"]].iloc[-1].isna().all():
        total_left_out = 0.0  # both totals hidden (protected only): too few cases to say anything of them
    return Coverage(
        by_year=by_year[["fy_start", "financial_year", "cases", "suppressed"]],
        total=total_left_out,
        counts=counts[["fy_start", "cases", "covered", "suppressed"]],
        derived=viewer.protected,
        error=difference_error(rule) if viewer.protected else 0,
    )


def uncovered_cases(runner: RunsQueries, filters: Filters, viewer: Viewer, rule: Rule) -> Coverage:
    """How many of the filtered cases the rates leave out for want of workforce figures (``protect_coverage``)."""
    params = filters.params(get_query("coverage_by_year").params)
    return protect_coverage(runner.run("coverage_by_year", params), viewer, rule)

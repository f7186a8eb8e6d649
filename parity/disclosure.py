"""Disclosure control (design §5): the one protection rule every number passes at the protected level.

At the ``protected`` level (``parity.viewer``), every count, whatever narrows it:

1. gets a consistent perturbation, by the cell-key method of flexible table builders (the Australian Bureau of
   Statistics' TableBuilder, the ONS census custom tables): each case and workforce row carries a fixed record key
   (0 to 255, stored at ingest); a cell's key is the sum of its records' keys modulo 256 (SQL only sums, and
   sums add up across queries); ``PERTURBATION`` maps (count, cell key) to a small integer noise. The same cell
   always gets the same answer, by whichever query or route it is reached;
2. then counts of 1 to ``suppress_max`` show as ``*`` (decided on the exact count) and others are rounded to the
   nearest ``round_to``; zero stays 0;
3. where a view shows the parts of a whole (the groups of a split, a second split of the same people, the years
   of a period, concern types, shares of a whole), one hidden part forces a second (``secondary_suppression``),
   so that no sum or difference gives either back.

Every rate, share, interval, ratio, test, standardised ratio and funnel point or limit is then computed from the
protected counts by the measures, never from the exact ones. At the ``full`` level numbers are exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from parity import contract

SUPPRESSED = "*"
KEY_SUFFIX = "_key"  # a count column's cell key: ``cases`` → ``cases_key``

# The published perturbation table. A count just above ``suppress_max`` has less room to move down than up; the
# noise is kept unbiased by narrowing it symmetrically: ``room`` is how far the count may move down without
# falling to ``suppress_max`` (0, 1, or 2 and more). Each row gives, for cell keys 0-255 in order, how many keys
# map to each noise value; the keys of a cell are uniform, so these are the noise's probabilities in 256ths.
PERTURBATION: dict[int, dict[int, int]] = {
    0: {0: 256},
    1: {-1: 64, 0: 128, 1: 64},
    2: {-2: 16, -1: 48, 0: 128, 1: 48, 2: 16},
}


def perturbation_variance(room: int) -> float:
    """The noise's variance for a count with ``room`` (0, 1, 2): 0, 0.5 and 0.875; its mean is always 0."""
    row = PERTURBATION[min(room, 2)]
    return sum(n * v * v for v, n in row.items()) / contract.RECORD_KEYS


@cache
def _noise_by_room() -> np.ndarray:
    """PERTURBATION as an array: [room, cell key] → noise."""
    table = np.zeros((3, contract.RECORD_KEYS), dtype=np.int64)
    for room, row in PERTURBATION.items():
        assert sum(row.values()) == contract.RECORD_KEYS
        table[room] = np.repeat(list(row), list(row.values()))
    return table


@dataclass(frozen=True)
class Rule:
    """The thresholds of the protection rule (from settings: ``PARITY_SUPPRESS_MAX``, ``PARITY_ROUND_TO``)."""

    suppress_max: int = 7
    round_to: int = 5

    def explain(self) -> str:
        """The rule in one sentence, for each protected page's caption."""
        return "Numbers are protected: " + self.statement()

    def statement(self) -> str:
        """What the rule does, as a sentence of its own."""
        return (
            f"every count is slightly perturbed, counts of 1 to {self.suppress_max} show as {SUPPRESSED} and others "
            f"are rounded to the nearest {self.round_to}; rates, shares, intervals and tests are computed from these "
            "protected counts, and a second figure is hidden where a hidden one could be worked out from a total."
        )


def noise(counts: Sequence[float] | np.ndarray, keys: Sequence[float] | np.ndarray | None, rule: Rule) -> np.ndarray:
    """The perturbation of each count from its cell key (``PERTURBATION``); 0 for zero and hidden counts, and
    for counts with no cell key (``keys`` None: rows that are not people, such as a file's rows)."""
    n = np.asarray(counts, dtype=float)
    if keys is None:
        return np.zeros(len(n), dtype=np.int64)
    k = np.nan_to_num(np.asarray(keys, dtype=float)).astype(np.int64) % contract.RECORD_KEYS
    room = np.clip(np.nan_to_num(n) - (rule.suppress_max + 1), 0, 2).astype(np.int64)
    out = _noise_by_room()[room, k]
    return np.where(np.nan_to_num(n) > rule.suppress_max, out, 0)


def _rounded(n: np.ndarray, rule: Rule) -> np.ndarray:
    """Half up to ``round_to`` (never the even neighbour), never below ``round_to`` for a count that is there."""
    rounded = np.floor(n / rule.round_to + 0.5) * rule.round_to
    return np.where(n > 0, np.maximum(rounded, rule.round_to), n)


def protect(counts: Sequence[float] | np.ndarray, keys: Sequence[float] | np.ndarray | None, rule: Rule) -> np.ndarray:
    """Counts under the rule: NaN for hidden (1 to ``suppress_max``), 0 for 0, else perturbed by their cell keys
    and rounded half up to ``round_to`` (never below ``round_to``: a count that is there never shows as 0)."""
    n = np.asarray(counts, dtype=float)
    shown = _rounded(n + noise(n, keys, rule), rule)
    hidden = (n > 0) & (n <= rule.suppress_max)
    return np.where(hidden, np.nan, shown)


def round_count(n: float, rule: Rule) -> float:
    """One count with no cell key (nothing to perturb by): NaN for hidden, else rounded half up to ``round_to``."""
    if pd.isna(n):
        return np.nan
    return float(protect([float(n)], None, rule)[0])


def difference_error(rule: Rule) -> int:
    """How far a difference of two protected counts can be from the difference of the exact ones: each count
    moves by the perturbation table's largest noise and then by up to half the rounding base."""
    reach = max(abs(noise) for row in PERTURBATION.values() for noise in row)
    return 2 * (reach + rule.round_to // 2)


def cell_key(keys: Iterable[float]) -> int:
    """The key of a cell made of other cells (or records): the sum of their keys modulo 256."""
    return int(sum(int(k) for k in keys if not pd.isna(k)) % contract.RECORD_KEYS)


def secondary_suppression(
    hidden: np.ndarray, sizes: np.ndarray, wholes: Iterable[Sequence[int]], keep: np.ndarray | None = None
) -> np.ndarray:
    """More cells to hide, so that no whole has exactly one hidden part.

    ``hidden`` marks the cells hidden so far, ``sizes`` their exact counts, and each of ``wholes`` lists the cells
    (positions) that add up to something shown or to each other (the parts of a total; a cell and the same cell
    shown elsewhere). Where a whole has exactly one hidden cell, the smallest other non-zero cell of it is hidden
    too (a zero one only where there is none; a cell marked in ``keep``, a total a view leads with, only where
    nothing else is left), and so on until every whole has none or at least two. Returns the new mask.
    """
    keep = np.zeros(len(hidden), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    hidden = np.asarray(hidden, dtype=bool).copy()
    sizes = np.asarray(sizes, dtype=float)
    wholes = [np.asarray(w, dtype=np.int64) for w in wholes if len(w) > 1]
    changed = True
    while changed:
        changed = False
        for whole in wholes:
            inside = hidden[whole]
            if inside.sum() != 1:
                continue
            others = whole[~inside]
            if len(others) == 0:
                continue
            if (~keep[others]).any():
                others = others[~keep[others]]
            size = np.nan_to_num(sizes[others])
            candidates = others[size > 0] if (size > 0).any() else others
            pick = candidates[np.argmin(np.nan_to_num(sizes[candidates]))]
            hidden[pick] = True
            changed = True
    return hidden


def wholes_by(table: pd.DataFrame, columns: Sequence[str]) -> list[np.ndarray]:
    """Positions of the rows sharing each combination of ``columns`` (all rows as one whole without columns)."""
    if not columns:
        return [np.arange(len(table))]
    if table[list(columns)].isna().to_numpy().any():
        # Rows with a missing key belong to no whole of one column and to their own of several, as pandas' groups.
        positions = pd.Series(np.arange(len(table)), index=table.index)
        return [positions.loc[idx].to_numpy() for idx in table.groupby(list(columns), sort=False).groups.values()]
    # The same wholes in the same order as the groups above (first seen for one column, sorted for several), each
    # in row order, from the positions pandas finds in one pass (1,500 organisations: no lookup per whole).
    return list(table.groupby(list(columns), sort=len(columns) > 1).indices.values())


def protect_cells(
    exact: Sequence[float] | np.ndarray,
    keys: Sequence[float] | np.ndarray,
    rule: Rule,
    wholes: Iterable[Sequence[int]],
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """The rule on a flat list of cells: ``protect`` (a NaN key: no perturbation), then ``secondary_suppression``
    over ``wholes`` (positions in the list). Hidden cells are NaN."""
    exact = np.asarray(exact, dtype=float)
    key_array = np.asarray(keys, dtype=float)
    shown = np.where(np.isnan(key_array), protect(exact, None, rule), protect(exact, np.nan_to_num(key_array), rule))
    hide = secondary_suppression(np.isnan(shown) & (exact > 0), exact, list(wholes), keep)
    return np.where(hide, np.nan, shown)


def protect_table(
    table: pd.DataFrame,
    counts: Iterable[str],
    *,
    protected: bool,
    rule: Rule,
    wholes: Mapping[str, Iterable[Sequence[int]]] | Iterable[Sequence[int]] = (),
    row_wholes: Iterable[Sequence[str]] = (),
    keep: np.ndarray | None = None,
) -> pd.DataFrame:
    """A table's counts under the rule, with a boolean ``suppressed`` column (a count of the row is hidden).

    Each count column ``c`` is protected with its cell key ``c_key`` (rounded only where the table has none); the key
    columns are dropped. ``wholes`` lists the parts of each whole (rows by position) for secondary suppression:
    one list for every count column, or a mapping from count column to its own. ``row_wholes`` names count
    columns that add up within each row (``closed`` and ``open`` make ``cases``). At the ``full`` level the counts
    stay exact and nothing is suppressed. ``keep`` marks rows (totals) hidden as a second cell only as a last resort.
    """
    out = table.reset_index(drop=True).copy()
    count_cols = list(counts)
    n = len(out)
    suppressed = np.zeros(n, dtype=bool)
    if protected and n:
        exact = np.concatenate([pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float) for c in count_cols])
        keyed = [c + KEY_SUFFIX in out for c in count_cols]
        keys = np.concatenate(
            [
                out[c + KEY_SUFFIX].to_numpy(dtype=float) if k else np.full(n, np.nan)
                for c, k in zip(count_cols, keyed, strict=True)
            ]
        )
        cells: list[np.ndarray] = []
        for i, col in enumerate(count_cols):
            parts = wholes.get(col, ()) if isinstance(wholes, Mapping) else wholes
            cells += [np.asarray(w, dtype=np.int64) + i * n for w in parts]
        for linked in row_wholes:
            offsets = np.array([count_cols.index(c) * n for c in linked])
            cells += [offsets + row for row in range(n)]
        keep_cells = None if keep is None else np.tile(np.asarray(keep, dtype=bool), len(count_cols))
        shown = protect_cells(exact, keys, rule, cells, keep_cells)
        for i, col in enumerate(count_cols):
            column = shown[i * n : (i + 1) * n]
            out[col] = column
            suppressed |= np.isnan(column) & ~np.isnan(exact[i * n : (i + 1) * n])
    out = out.drop(columns=[c + KEY_SUFFIX for c in count_cols if c + KEY_SUFFIX in out])
    out["suppressed"] = suppressed
    return out


def disclose(
    table: pd.DataFrame,
    counts: Iterable[str],
    depends_on: Mapping[str, Iterable[str]] | None = None,
    *,
    protected: bool,
    rule: Rule,
    wholes: Mapping[str, Iterable[Sequence[int]]] | Iterable[Sequence[int]] = (),
) -> pd.DataFrame:
    """``protect_table``, and each ``depends_on`` column (a figure computed from counts) blanked (NaN) where a
    count it is computed from is hidden. Used where the derived figures were already computed from the
    protected counts, or carry no count (a life table's survival)."""
    out = protect_table(table, counts, protected=protected, rule=rule, wholes=wholes)
    for derived, sources in (depends_on or {}).items():
        mask = np.zeros(len(out), dtype=bool)
        for src in sources:
            mask |= out[src].isna().to_numpy() & pd.to_numeric(table[src], errors="coerce").notna().to_numpy()
        out.loc[mask, derived] = np.nan
    return out


def as_display(table: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Text for tables and CSV downloads: suppressed values (NaN in a suppressed row) become ``*``."""
    out = table.copy()
    mask = out["suppressed"] if "suppressed" in out else pd.Series(False, index=out.index)
    for col in columns:
        out[col] = out[col].astype(object)
        out.loc[mask & out[col].isna(), col] = SUPPRESSED
    return out


# --- Which groups of one split lie inside which group of another --------------------------------


@cache
def _atom_labels() -> pd.DataFrame:
    """Every combination of the characteristics the splits are made of, with each split's label for it."""
    rows = []
    for e, q, g, a in itertools.product(
        contract.ETHNIC_CATEGORIES, contract.PMQ_REGIONS, contract.GENDERS, contract.AGE_BANDS
    ):
        rows.append(
            {
                "ethnic_group": contract.ETHNIC_GROUP_OF[e],
                "ethnic_category": contract.ETHNIC_CATEGORIES[e],
                "ethnic_minority": contract.ETHNIC_MINORITY_OF[e],
                "pmq_region": contract.PMQ_REGIONS[q],
                "uk_graduate": contract.UK_GRADUATE_OF[q],
                "ethnicity_pmq": contract.ethnicity_pmq_label(e, q),
                "gender": contract.GENDERS[g],
                "age_band": contract.AGE_BANDS[a],
            }
        )
    return pd.DataFrame(rows)


def nested_groups(coarse: str, fine: str) -> dict[str, tuple[str, ...]]:
    """For each group of split ``coarse``, the groups of split ``fine`` that together make it up exactly; only the
    coarse groups that such fine groups make up (none when the splits cut across each other)."""
    return dict(_nested_groups(coarse, fine))


@cache
def _nested_groups(coarse: str, fine: str) -> dict[str, tuple[str, ...]]:
    """``nested_groups``, worked out once per pair of splits (the contract's labels do not change)."""
    if coarse == fine:
        return {}
    atoms = _atom_labels()
    parents = atoms.groupby(fine)[coarse].nunique()
    if (parents > 1).any():
        return {}
    pairs = atoms[[coarse, fine]].drop_duplicates()
    return {g: tuple(sorted(block[fine])) for g, block in pairs.groupby(coarse)}

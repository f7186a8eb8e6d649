"""Adjusted relative likelihoods of referral: each split's gap once the other characteristics recorded in both
cases and workforce are held equal (a Poisson regression, ``parity.stats.adjusted_rate_ratios``), and the
ethnicity × place-of-qualification interaction test of the intersection view."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from parity import contract, stats
from parity.filters import Filters
from parity.measures.common import RunsQueries, run_split_query

# The characteristics recorded in both cases and workforce that an adjusted relative likelihood can hold
# equal, in the order sentences list them, with their names in words.
ADJUSTMENTS: dict[str, str] = {
    "pmq_region": "place of qualification",
    "ethnic_group": "ethnic group",
    "profession": "profession",
    "age_band": "age band",
    "gender": "gender",
    "org_type": "organisation type",
    "region": "region",
}
# The characteristics each split is made of: never adjusted for when comparing by that split.
SPLIT_FACTORS: dict[str, tuple[str, ...]] = {
    "ethnic_group": ("ethnic_group",),
    "ethnic_category": ("ethnic_group",),
    "ethnic_minority": ("ethnic_group",),
    "pmq_region": ("pmq_region",),
    "uk_graduate": ("pmq_region",),
    "ethnicity_pmq": ("ethnic_group", "pmq_region"),
    "gender": ("gender",),
    "age_band": ("age_band",),
}
ADJUSTED_COLUMNS: tuple[str, ...] = ("adj_rl", "adj_rl_lower", "adj_rl_upper", "adj_band")


@dataclass(frozen=True)
class Adjustment:
    """Adjusted relative likelihoods for one split, and what they adjust for.

    ``table``: one row per group: ``group`` and ``ADJUSTED_COLUMNS`` (``adj_band``: the three-way band
    judgement of the adjusted interval; None for the reference and where the ratio cannot be computed).
    ``adjusted_for``: the characteristics in the model (those chosen, less the split's own and any with one
    value under the filters); ``dispersion`` and ``method``: the Pearson dispersion and the variance model
    (``poisson`` or ``quasi-poisson``); ``cases_left_out``: cases in cells with no practitioners recorded.
    ``withheld``: the viewer is at the protected level, where no model is fitted (a regression on perturbed and
    rounded cells means nothing, and one on exact cells would compute a shown number from exact counts).
    """

    table: pd.DataFrame
    adjusted_for: tuple[str, ...]
    dispersion: float
    method: str
    cases_left_out: int
    withheld: bool = False

    @classmethod
    def none(cls) -> Adjustment:
        """No adjustment chosen: no model, and every adjusted column empty."""
        return cls(pd.DataFrame(columns=["group", *ADJUSTED_COLUMNS]), (), math.nan, stats.POISSON, 0)

    @classmethod
    def withheld_from_protected(cls) -> Adjustment:
        """The protected level: no model fitted, every adjusted column empty, and ``withheld`` says why."""
        return cls(pd.DataFrame(columns=["group", *ADJUSTED_COLUMNS]), (), math.nan, stats.POISSON, 0, withheld=True)

    @property
    def described(self) -> str:
        """What the model holds equal, in words ("place of qualification, profession and age band")."""
        return describe_adjustments(self.adjusted_for)


def describe_adjustments(factors: Iterable[str]) -> str:
    names = [ADJUSTMENTS[f] for f in factors]
    if not names:
        return "nothing"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def checked_adjustments(adjust_for: Iterable[str] | None) -> tuple[str, ...]:
    """The chosen characteristics in the standard order (all of them when None); refuses unknown names."""
    if adjust_for is None:
        return tuple(ADJUSTMENTS)
    chosen = set(adjust_for)
    unknown = chosen - set(ADJUSTMENTS)
    if unknown:
        raise ValueError(
            f"cannot adjust for {', '.join(sorted(map(repr, unknown)))}; choose from {', '.join(ADJUSTMENTS)}"
        )
    return tuple(f for f in ADJUSTMENTS if f in chosen)


def adjustments_for_split(split: str, adjust_for: Iterable[str] | None) -> tuple[str, ...]:
    """The chosen characteristics less those the split is made of."""
    own = SPLIT_FACTORS.get(split, ())
    return tuple(f for f in checked_adjustments(adjust_for) if f not in own)


# Model fits are the slowest step of a page; a page rerun with the same cells and choices reuses them.
_FITS: OrderedDict[tuple, Any] = OrderedDict()
_FITS_KEPT = 64


def adjusted_relative_likelihoods(
    runner: RunsQueries, filters: Filters, split: str, reference: str, adjust_for: Sequence[str] | None = None
) -> Adjustment:
    """Each group's relative likelihood of referral against ``reference``, adjusted for ``adjust_for`` (default:
    every characteristic in ``ADJUSTMENTS`` that is not part of the split). With nothing left to adjust for, no
    model is fitted and no query run: ``Adjustment.none()``."""
    factors = adjustments_for_split(split, adjust_for)
    if not factors:
        return Adjustment.none()
    known = _known_fit(runner, ("ratios", filters, split, reference, factors))
    if known is not None:
        return known
    cells = run_split_query(runner, "referrals_by_cell", filters, split)
    key = _fit_key(runner, ("ratios", filters, split, reference, factors), cells)
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    with _one_blas_thread():
        fitted = stats.adjusted_rate_ratios(
            cells["cases"], cells["headcount"], cells["grp"], reference, {f: cells[f] for f in factors}
        )
    rows = []
    for group, ratio in fitted.ratios.items():
        is_reference = group == reference
        computable = not is_reference and not math.isnan(ratio.value)
        rows.append(
            {
                "group": group,
                "adj_rl": ratio.value,
                "adj_rl_lower": ratio.lower,
                "adj_rl_upper": ratio.upper,
                "adj_band": stats.band_judgement(ratio) if computable else None,
            }
        )
    adjustment = Adjustment(
        table=pd.DataFrame(rows, columns=["group", *ADJUSTED_COLUMNS]),
        adjusted_for=fitted.adjusted_for,
        dispersion=fitted.dispersion,
        method=fitted.method,
        cases_left_out=fitted.events_left_out,
    )
    _remember(key, adjustment)
    return adjustment


def _fit_key(runner: RunsQueries, choices: tuple, cells: pd.DataFrame) -> tuple:
    """What a fit depends on: the choices and the database's version where the runner knows it (a database is
    replaced whole, never edited), else the cells themselves as a number (slower: hashing 24,000 rows)."""
    version = getattr(runner, "data_version", None)
    if version is not None:
        return (version, *choices)
    return (*choices, int(pd.util.hash_pandas_object(cells, index=False).sum()))


def _known_fit(runner: RunsQueries, choices: tuple) -> Any:
    """A fit already made for these choices on this version of the database, without running its query again
    (the query is still noted as the View's); None when there is none or the runner has no version."""
    version = getattr(runner, "data_version", None)
    key = (version, *choices)
    if version is None or key not in _FITS:
        return None
    _FITS.move_to_end(key)
    note = getattr(runner, "note", None)
    if note is not None:
        note("referrals_by_cell")
    return _FITS[key]


def _remember(key: tuple, fit: object) -> None:
    _FITS[key] = fit
    while len(_FITS) > _FITS_KEPT:
        _FITS.popitem(last=False)


def with_adjusted(summary: pd.DataFrame, adjustment: Adjustment) -> pd.DataFrame:
    """A ``summarise_rates`` table with the adjusted columns after the crude ``rl_upper`` (NaN where absent)."""
    merged = summary.merge(adjustment.table, on="group", how="left")
    columns = list(summary.columns)
    at = columns.index("rl_upper") + 1 if "rl_upper" in columns else len(columns)
    order = [*columns[:at], *ADJUSTED_COLUMNS, *columns[at:]]
    merged["adj_band"] = merged["adj_band"].astype(object).where(merged["adj_band"].notna(), None)
    return merged[order]


def ethnicity_pmq_interaction(
    runner: RunsQueries, filters: Filters, adjust_for: Sequence[str] | None = None
) -> stats.NestedTest:
    """Does the ethnicity gap differ by place of qualification? The ethnic group × place of qualification
    interaction in the adjusted model (main effects of both, plus the other chosen characteristics), among
    practitioners whose ethnic group and place of qualification are both known."""
    factors = adjustments_for_split("ethnicity_pmq", adjust_for)
    known = _known_fit(runner, ("interaction", filters, factors))
    if known is not None:
        return known
    cells = run_split_query(runner, "referrals_by_cell", filters, "ethnicity_pmq")
    key = _fit_key(runner, ("interaction", filters, factors), cells)
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    known = cells[~cells["ethnic_group"].map(contract.is_unknown_group) & (cells["pmq_region"] != "not_known")]
    with _one_blas_thread():
        test = stats.interaction_test(
            known["cases"],
            known["headcount"],
            known["ethnic_group"],
            known["pmq_region"],
            {f: known[f] for f in factors},
        )
    _remember(key, test)
    return test


def _one_blas_thread() -> threadpool_limits:
    """One BLAS thread for a model fit: its matrices are narrow (tens of columns), and on a busy machine threads
    fighting for cores made a fit on the sample's 24,000 cells several times slower (2.7 s against 0.4 s)."""
    return threadpool_limits(limits=1, user_api="blas")

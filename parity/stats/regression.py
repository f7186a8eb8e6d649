"""Adjusted rate ratios: a Poisson regression of counts on grouped cells with log(exposure) as offset.

The model is statsmodels' GLM (Poisson family, log link) with one indicator per level of each factor
(treatment coding), the same model as R's ``glm(cases ~ group + ... + offset(log(headcount)), family =
poisson)``. A group's adjusted rate ratio is exp(its coefficient): its rate against the reference group's
among practitioners alike in every adjustment factor.

**The overdispersion rule.** Counts of referrals vary more than a Poisson model allows when something the
model leaves out (an organisation's culture, the year, an interaction) moves rates. The Pearson dispersion
φ = Pearson χ² ÷ residual degrees of freedom, measured across the cells the model tells apart, says by how
much. Parity keeps the Poisson point estimates and multiplies the standard errors by √max(1, φ): quasi-Poisson
(McCullagh and Nelder, 1989, §6.2) when φ > 1, Poisson otherwise. The width changes smoothly as φ crosses 1
(no jump), an interval is never narrower than Poisson's, and the adjusted ratio itself does not depend on the
variance model (a negative binomial model would reweight the cells and move it). The same φ serves the
interaction test: an F test on the deviance change divided by φ when φ > 1 (as R's ``anova(..., test = "F")``
for a quasi-Poisson fit), a likelihood-ratio χ² test otherwise (R's ``test = "Chisq"``).

Cells whose exposure is zero cannot be modelled (log 0): they are left out and counted, never silently.
A level with no events at all has no finite coefficient (its rate is estimated as 0): its cells are left out
of the fit, which gives the other coefficients exactly the maximum-likelihood limit, and its ratio is reported
as not computable. Cells alike in every modelled factor are summed first: Poisson counts with one rate add up,
so the estimates and standard errors are unchanged and the fit is faster.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning, SingularMatrixWarning

from parity.stats._checks import NAN, checked_confidence, critical_z, flat_array, require_same_length
from parity.stats.ratios import Ratio

POISSON = "poisson"
QUASI_POISSON = "quasi-poisson"
_GROUP = "group"  # the name of the compared factor among the model's terms


@dataclass(frozen=True)
class AdjustedRatios:
    """Adjusted rate ratios of each group against ``reference``, and how the model was fitted.

    ``ratios``: one per group with exposure (the reference is 1 with no interval; a group with no events, or
    one the adjustment factors leave no information of its own about, has NaN).
    ``adjusted_for``: the factors in the model besides the group, in the order given (those with one level
    among the cells modelled are dropped). ``dispersion``: Pearson χ² ÷ residual df of the Poisson fit (NaN
    when no df are left); ``method``: ``poisson`` or ``quasi-poisson``. ``cells``: cells modelled, after
    summing cells alike in every modelled factor; ``cells_left_out`` / ``events_left_out``: cells with events
    but no exposure, and their events.
    """

    reference: str
    ratios: dict[str, Ratio]
    adjusted_for: tuple[str, ...]
    dispersion: float
    method: str
    cells: int
    cells_left_out: int
    events_left_out: int


@dataclass(frozen=True)
class NestedTest:
    """A test of whether extra terms improve a model: deviance change, its degrees of freedom, p-value."""

    deviance: float
    df: int
    statistic: float
    p_value: float
    method: str  # "likelihood_ratio" (χ²) or "quasi_f" (F with the dispersion of the larger model)
    dispersion: float


@dataclass
class _Cells:
    """Grouped cells: counts, exposure, and each factor's level codes with the levels they stand for."""

    events: NDArray[np.float64]
    exposure: NDArray[np.float64]
    codes: dict[str, NDArray[np.int64]]
    levels: dict[str, NDArray[np.str_]]

    def subset(self, keep: NDArray[np.bool_]) -> _Cells:
        return _Cells(self.events[keep], self.exposure[keep], {f: c[keep] for f, c in self.codes.items()}, self.levels)


def _cells(
    events: Sequence[float], exposure: Sequence[float], factors: Mapping[str, Sequence[str]]
) -> tuple[_Cells, int, int]:
    """Checked cells with positive exposure, and how many cells (and events) had none."""
    counts, sizes = flat_array("events", events), flat_array("exposure", exposure)
    labels = {name: np.asarray(values, dtype=str) for name, values in factors.items()}
    require_same_length(events=counts, exposure=sizes, **labels)
    if np.isnan(counts).any() or np.isnan(sizes).any() or (counts < 0).any() or (sizes < 0).any():
        raise ValueError("events and exposure must be counts of zero or more (no missing values)")
    no_exposure = sizes <= 0
    left_out, events_left_out = int((no_exposure & (counts > 0)).sum()), int(counts[no_exposure].sum())
    keep = ~no_exposure
    levels, codes = {}, {}
    for name, values in labels.items():
        levels[name], codes[name] = np.unique(values[keep], return_inverse=True)
    return _Cells(counts[keep], sizes[keep], codes, levels), left_out, events_left_out


def _without_empty_levels(cells: _Cells) -> _Cells:
    """Cells of levels with events only: a level without any has no finite coefficient."""
    keep = np.ones(len(cells.events), dtype=bool)
    for code in cells.codes.values():
        keep &= np.bincount(code, weights=cells.events)[code] > 0
    return cells.subset(keep)


def _collapse(cells: _Cells, factors: Sequence[str]) -> _Cells:
    """Cells with the same level of every modelled factor summed into one."""
    stacked = np.stack([cells.codes[f] for f in factors], axis=1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    size = len(unique)
    return _Cells(
        np.bincount(inverse, weights=cells.events, minlength=size),
        np.bincount(inverse, weights=cells.exposure, minlength=size),
        {f: unique[:, i] for i, f in enumerate(factors)},
        {f: cells.levels[f] for f in factors},
    )


def _largest_level(cells: _Cells, factor: str) -> int:
    """The reference level of an adjustment factor: its level with the most exposure (the most stable base)."""
    return int(np.argmax(np.bincount(cells.codes[factor], weights=cells.exposure)))


def _design(cells: _Cells, references: dict[str, int]) -> tuple[NDArray[np.float64], list[str]]:
    """Treatment-coded indicators: an intercept, then each factor's levels other than its reference."""
    columns, names = [np.ones(len(cells.events))], ["const"]
    for factor, reference in references.items():
        code = cells.codes[factor]
        for level in np.unique(code):
            if level != reference:
                columns.append((code == level).astype(float))
                names.append(f"{factor}[{cells.levels[factor][level]}]")
    return np.column_stack(columns), names


def _raking_start(cells: _Cells, terms: list[NDArray[np.int64]], design: NDArray[np.float64]) -> NDArray[np.float64]:
    """Starting values for the fit: the log-linear model by iterative proportional fitting.

    With only categorical terms, the maximum-likelihood fitted counts match the observed totals of every level
    of every term (the Poisson score equations), and raking the expected counts to those totals one term at a
    time converges to them (Deming and Stephan, 1940). The parameters that reproduce the raked counts start
    statsmodels' Newton steps next to the maximum, which matters on tens of thousands of cells. The fit
    itself, its standard errors and dispersion are statsmodels'.
    """
    fitted = cells.exposure * cells.events.sum() / cells.exposure.sum()
    observed = [np.bincount(code, weights=cells.events) for code in terms]
    for _ in range(100):
        worst = 0.0
        for code, total in zip(terms, observed, strict=True):
            expected = np.bincount(code, weights=fitted, minlength=len(total))
            ratio = np.divide(total, expected, out=np.ones_like(expected), where=expected > 0)
            fitted *= ratio[code]
            worst = max(worst, float(np.abs(np.log(ratio[ratio > 0])).max(initial=0.0)))
        if worst < 1e-7:  # near enough: Newton's steps finish the job
            break
    # Least squares on the small normal equations: the parameters whose linear predictor is log(raked ÷ exposure).
    target = np.log(np.maximum(fitted, 1e-300) / cells.exposure)
    start, *_ = np.linalg.lstsq(design.T @ design, design.T @ target, rcond=None)
    return start


def _fit(cells: _Cells, design: NDArray[np.float64], terms: list[NDArray[np.int64]]):
    """statsmodels' Poisson GLM, maximised by Newton's method from the raked start."""
    model = sm.GLM(cells.events, design, family=sm.families.Poisson(), offset=np.log(cells.exposure))
    with warnings.catch_warnings():
        # A level with very few events converges slowly; its own wide interval says so. Newton steps that overshoot
        # on sparse cells warn before IRLS, below, takes over.
        warnings.simplefilter(
            "ignore", category=(ConvergenceWarning, PerfectSeparationWarning, SingularMatrixWarning, RuntimeWarning)
        )
        start = _raking_start(cells, terms, design)
        result = model.fit(method="newton", start_params=start, maxiter=50, tol=1e-10, disp=False)
        if result.mle_retvals.get("converged") and np.isfinite(result.params).all():
            return result
        # IRLS (R's glm algorithm) is slower on many cells but does not overshoot.
        return model.fit(method="irls", start_params=start, maxiter=100, tol=1e-10)


def _dispersion(result) -> float:
    return float(result.pearson_chi2 / result.df_resid) if result.df_resid > 0 else NAN


def _aliased(design: NDArray[np.float64], names: list[str]) -> set[str]:
    """Columns that are linear combinations of earlier ones (no information of their own once adjusted)."""
    gram = design.T @ design  # the same rank as any set of the columns, and small (columns × columns)
    if np.linalg.matrix_rank(gram) == gram.shape[0]:
        return set()
    aliased, kept, rank = set(), [], 0
    for i, name in enumerate(names):
        index = [*kept, i]
        new_rank = np.linalg.matrix_rank(gram[np.ix_(index, index)])
        if new_rank > rank:
            kept.append(i)
            rank = new_rank
        else:
            aliased.add(name)
    return aliased


def adjusted_rate_ratios(
    events: Sequence[float],
    exposure: Sequence[float],
    groups: Sequence[str],
    reference: str,
    adjust_for: Mapping[str, Sequence[str]] | None = None,
    *,
    confidence: float = 0.95,
) -> AdjustedRatios:
    """Rate ratio of each group against ``reference``, adjusted for the factors of ``adjust_for``.

    Grouped cells, one per element: the number of ``events``, the ``exposure`` (practitioner-years) they arose
    from, the cell's group, and its level of each adjustment factor (``adjust_for``: factor name → levels). The
    Poisson GLM with offset log(exposure) is statsmodels' (equal to R's glm); standard errors are scaled by
    √max(1, φ) (module docstring). With no adjustment factors the ratio equals the crude rate ratio, and its
    interval the log-method (Katz) interval for two Poisson counts.
    """
    confidence = checked_confidence(confidence)
    adjust_for = dict(adjust_for or {})
    if _GROUP in adjust_for:
        raise ValueError(f"{_GROUP!r} names the compared groups; call the adjustment factor something else")
    all_cells, left_out, events_left_out = _cells(events, exposure, {_GROUP: groups, **adjust_for})
    group_levels = [str(level) for level in all_cells.levels[_GROUP]]
    cells = _without_empty_levels(all_cells)
    names = tuple(adjust_for)
    kept = tuple(f for f in names if len(np.unique(cells.codes[f])) > 1)
    not_computed = AdjustedRatios(
        reference, {g: Ratio(NAN, NAN, NAN) for g in group_levels}, kept, NAN, POISSON, 0, left_out, events_left_out
    )
    reference_code = np.flatnonzero(cells.levels[_GROUP] == reference)
    if len(cells.events) == 0 or len(reference_code) == 0 or not (cells.codes[_GROUP] == reference_code[0]).any():
        return not_computed
    cells = _collapse(cells, (_GROUP, *kept))
    references = {_GROUP: int(reference_code[0]), **{f: _largest_level(cells, f) for f in kept}}
    design, columns = _design(cells, references)
    result = _fit(cells, design, [cells.codes[f] for f in (_GROUP, *kept)])
    dispersion = _dispersion(result)
    scale = max(1.0, dispersion) if not math.isnan(dispersion) else 1.0
    z = critical_z(confidence)
    params = dict(zip(columns, np.asarray(result.params), strict=True))
    errors = dict(zip(columns, np.asarray(result.bse) * math.sqrt(scale), strict=True))
    aliased = _aliased(design, columns)
    ratios: dict[str, Ratio] = {}
    for group in group_levels:
        name = f"{_GROUP}[{group}]"
        if group == reference:
            ratios[group] = Ratio(1.0, NAN, NAN)
        elif name not in params or name in aliased or not np.isfinite(errors[name]):
            ratios[group] = Ratio(NAN, NAN, NAN)
        else:
            beta, se = float(params[name]), float(errors[name])
            ratios[group] = Ratio(math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se))
    return AdjustedRatios(
        reference=reference,
        ratios=ratios,
        adjusted_for=kept,
        dispersion=dispersion,
        method=QUASI_POISSON if scale > 1 else POISSON,
        cells=len(cells.events),
        cells_left_out=left_out,
        events_left_out=events_left_out,
    )


def interaction_test(
    events: Sequence[float],
    exposure: Sequence[float],
    first: Sequence[str],
    second: Sequence[str],
    adjust_for: Mapping[str, Sequence[str]] | None = None,
) -> NestedTest:
    """Does the gap by ``first`` differ between levels of ``second``? The ``first`` × ``second`` interaction.

    Two Poisson GLMs (statsmodels) on the same cells, both with ``first``, ``second`` and the ``adjust_for``
    factors as main effects, the larger with their interaction; the deviance change is tested on as many
    degrees of freedom as the interaction adds (aliased terms, from empty combinations, add none). When the
    larger model's φ > 1 the test is quasi-likelihood: F = (ΔD ÷ df) ÷ φ on (df, residual df), as R's
    ``anova(test = "F")``; otherwise ΔD against χ²(df), as R's ``anova(test = "Chisq")``.
    """
    factors = {"first": first, "second": second, **(adjust_for or {})}
    all_cells, _, _ = _cells(events, exposure, factors)
    cells = _without_empty_levels(all_cells)
    kept = tuple(f for f in factors if len(cells.events) and len(np.unique(cells.codes[f])) > 1)
    if "first" not in kept or "second" not in kept:
        return NestedTest(NAN, 0, NAN, NAN, "likelihood_ratio", NAN)
    cells = _collapse(cells, kept)
    references = {f: _largest_level(cells, f) for f in kept}
    main, _ = _design(cells, references)
    first_code, second_code = cells.codes["first"], cells.codes["second"]
    pair = first_code * (int(second_code.max()) + 1) + second_code
    crossed = [
        (pair == level).astype(float)
        for level in np.unique(pair)
        if (level // (int(second_code.max()) + 1)) != references["first"]
        and (level % (int(second_code.max()) + 1)) != references["second"]
    ]
    full = np.column_stack([main, *crossed]) if crossed else main
    terms = [cells.codes[f] for f in kept]
    small = _fit(cells, main, terms)
    large = _fit(cells, full, [*terms, np.unique(pair, return_inverse=True)[1].reshape(-1)])
    df = int(round(large.df_model - small.df_model))
    deviance = float(small.deviance - large.deviance)
    dispersion = _dispersion(large)
    if df <= 0:
        return NestedTest(deviance, 0, NAN, NAN, "likelihood_ratio", dispersion)
    if dispersion > 1:
        statistic = deviance / df / dispersion
        return NestedTest(
            deviance, df, statistic, float(sps.f.sf(statistic, df, large.df_resid)), "quasi_f", dispersion
        )
    return NestedTest(deviance, df, deviance, float(sps.chi2.sf(deviance, df)), "likelihood_ratio", dispersion)

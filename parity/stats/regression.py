"""Adjusted rate ratios: a Poisson regression of counts on grouped cells with log(exposure) as offset.

The model is statsmodels' GLM (Poisson family, log link) with one indicator per level of each factor
(treatment coding), the same model as R's ``glm(cases ~ group + ... + offset(log(headcount)), family =
poisson)``. A group's adjusted rate ratio is exp(its coefficient): its rate against the reference group's
among practitioners alike in every adjustment factor.

**The overdispersion rule.** Counts of referrals vary more than a Poisson model allows when something the
model leaves out (an organisation's culture, the year) moves rates. The Pearson dispersion φ = Pearson χ² ÷
residual degrees of freedom measures it. Parity keeps the Poisson point estimates and multiplies the
standard errors by √max(1, φ): quasi-Poisson (McCullagh and Nelder, 1989, §6.2) when φ > 1, Poisson otherwise.
The width changes smoothly as φ crosses 1 (no jump), intervals are never narrowed below Poisson, and the
adjusted ratio itself does not depend on the variance model (a negative binomial model would reweight cells
and move it). The same scale serves the interaction test: an F test on the deviance change divided by φ when
φ > 1 (as R's ``anova(..., test = "F")`` for a quasi-Poisson fit), a likelihood-ratio χ² test otherwise.

Cells whose exposure is zero cannot be modelled (log 0): they are left out and counted, never silently.
Levels with no events at all have no finite coefficient (their rate is estimated as 0): their cells are
left out of the fit, which gives the other coefficients exactly the maximum-likelihood limit, and their
ratio is reported as not computable.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
from threadpoolctl import threadpool_limits

from parity.stats._checks import NAN, checked_confidence, critical_z
from parity.stats.ratios import Ratio

P = ParamSpec("P")
R = TypeVar("R")

POISSON = "poisson"
QUASI_POISSON = "quasi-poisson"


@dataclass(frozen=True)
class AdjustedRatios:
    """Adjusted rate ratios of each level of ``exposure`` against ``reference``, and how the model was fitted.

    ``ratios``: one per level seen with exposure (the reference is 1 with no interval; a level with no events,
    or one the adjustment factors leave no independent information about, has NaN).
    ``adjusted_for``: the factors in the model besides the exposure, in the order given (those with one level
    under the filters dropped).
    ``dispersion``: Pearson χ² ÷ residual df of the Poisson fit; ``method``: ``poisson`` or ``quasi-poisson``.
    ``cells``: cells modelled; ``cells_left_out`` / ``events_left_out``: cells with events but no exposure.
    """

    exposure: str
    reference: str
    ratios: dict[str, Ratio]
    adjusted_for: tuple[str, ...]
    dispersion: float
    method: str
    cells: int
    cells_left_out: int
    events_left_out: int

    @property
    def scale(self) -> float:
        """The factor applied to the Poisson variances: max(1, φ)."""
        return max(1.0, self.dispersion) if not math.isnan(self.dispersion) else 1.0


@dataclass(frozen=True)
class NestedTest:
    """A test of whether extra terms improve a model: deviance change, its degrees of freedom, p-value."""

    deviance: float
    df: int
    statistic: float
    p_value: float
    method: str  # "likelihood_ratio" (χ²) or "quasi_f" (F with the dispersion of the larger model)
    dispersion: float


def _usable(
    frame: pd.DataFrame, factors: Sequence[str], events: str, exposure_col: str
) -> tuple[pd.DataFrame, int, int]:
    """The cells a model can use: positive exposure, and no factor level without any event."""
    missing_columns = [c for c in (*factors, events, exposure_col) if c not in frame.columns]
    if missing_columns:
        raise ValueError(f"the cells have no column {', '.join(map(repr, missing_columns))}")
    counts = frame[events].astype(float)
    exposure = frame[exposure_col].astype(float)
    if (counts < 0).any() or (exposure < 0).any() or counts.isna().any() or exposure.isna().any():
        raise ValueError(f"{events} and {exposure_col} must be counts of zero or more (no missing values)")
    no_exposure = exposure <= 0
    left_out = int((no_exposure & (counts > 0)).sum())
    events_left_out = int(counts[no_exposure].sum())
    cells = frame[~no_exposure]
    keep = np.ones(len(cells), dtype=bool)
    for factor in factors:
        totals = cells.groupby(factor, observed=True)[events].transform("sum").to_numpy()
        keep &= totals > 0
    return cells[keep], left_out, events_left_out


def _collapse(cells: pd.DataFrame, factors: Sequence[str], events: str, exposure_col: str) -> pd.DataFrame:
    """Cells with the same level of every modelled factor summed into one: the same estimates and standard
    errors (Poisson counts with one rate add up), far fewer rows, and φ measured across the cells the model
    tells apart."""
    summed = cells.groupby(list(factors), observed=True, sort=True)[[events, exposure_col]].sum()
    return summed.reset_index()


def _design(cells: pd.DataFrame, factors: Sequence[str], references: dict[str, str]) -> pd.DataFrame:
    """Treatment-coded indicators: an intercept, then each factor's levels other than its reference."""
    columns: dict[str, np.ndarray] = {"const": np.ones(len(cells))}
    for factor in factors:
        values = cells[factor].astype(str).to_numpy()
        reference = references[factor]
        for level in sorted(set(values) - {reference}):
            columns[f"{factor}[{level}]"] = (values == level).astype(float)
    return pd.DataFrame(columns, index=cells.index)


def _largest_level(cells: pd.DataFrame, factor: str, exposure_col: str) -> str:
    """The reference level of an adjustment factor: its level with the most exposure (the most stable base)."""
    return str(cells.groupby(factor, observed=True)[exposure_col].sum().idxmax())


def _raking_start(cells: pd.DataFrame, design: pd.DataFrame, events: str, exposure_col: str) -> np.ndarray:
    """Starting values for the fit: the log-linear model by iterative proportional fitting.

    With only categorical terms, the maximum-likelihood fitted counts match the observed totals of every level
    of every term (the Poisson score equations), and raking the expected counts to those totals one term at a
    time converges to them (Deming and Stephan, 1940). The parameters that reproduce the raked counts then
    start statsmodels' Newton steps at (or next to) the maximum, which matters on tens of thousands of cells.
    The fit itself, its standard errors and dispersion are statsmodels'.
    """
    counts = cells[events].to_numpy(float)
    exposure = cells[exposure_col].to_numpy(float)
    fitted = exposure * counts.sum() / exposure.sum()
    terms = dict.fromkeys(column.split("[", 1)[0] for column in design.columns[1:])
    codes = [pd.factorize(_term_values(cells, term))[0] for term in terms]
    observed = [np.bincount(code, weights=counts) for code in codes]
    for _ in range(100):
        worst = 0.0
        for code, total in zip(codes, observed, strict=True):
            expected = np.bincount(code, weights=fitted, minlength=len(total))
            ratio = np.divide(total, expected, out=np.ones_like(expected), where=expected > 0)
            fitted *= ratio[code]
            worst = max(worst, float(np.abs(np.log(ratio[ratio > 0])).max(initial=0.0)))
        if worst < 1e-7:  # near enough: Newton's steps finish the job
            break
    # The parameters whose linear predictor is log(raked count ÷ exposure): least squares on the small normal
    # equations (exact where the terms reproduce the raked counts, as they do once raking has converged).
    matrix = design.to_numpy()
    target = np.log(np.maximum(fitted, 1e-300) / exposure)
    start, *_ = np.linalg.lstsq(matrix.T @ matrix, matrix.T @ target, rcond=None)
    return start


def _term_values(cells: pd.DataFrame, term: str) -> pd.Series:
    """The level of each cell on one term of the design: a factor, or two crossed as ``first×second``."""
    if "×" in term:
        first, second = term.split("×", 1)
        return cells[first].astype(str) + " × " + cells[second].astype(str)
    return cells[term].astype(str)


def _fit(cells: pd.DataFrame, design: pd.DataFrame, events: str, exposure_col: str):
    """statsmodels' Poisson GLM, maximised by Newton's method from the raked start (IRLS when unadjusted)."""
    model = sm.GLM(
        cells[events].astype(float).to_numpy(),
        design.to_numpy(),
        family=sm.families.Poisson(),
        offset=np.log(cells[exposure_col].astype(float).to_numpy()),
    )
    with warnings.catch_warnings():
        # A level with very few events converges slowly; its own wide interval says so.
        warnings.simplefilter("ignore", category=(ConvergenceWarning, PerfectSeparationWarning))
        # A saturated model (no adjustment: one cell per group) has no residual df; φ is then undefined.
        warnings.filterwarnings("ignore", message="divide by zero", category=RuntimeWarning)
        if design.shape[1] == 1:
            return model.fit(method="irls", maxiter=100, tol=1e-10)
        start = _raking_start(cells, design, events, exposure_col)
        return model.fit(method="newton", start_params=start, maxiter=50, tol=1e-10, disp=False)


def _dispersion(result) -> float:
    return float(result.pearson_chi2 / result.df_resid) if result.df_resid > 0 else NAN


def _one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Run a model function with one BLAS thread: the matrices are narrow (tens of columns), and on a busy
    machine threads fighting for cores made a fit on the sample's 24,000 cells several times slower."""

    @functools.wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited


@_one_blas_thread
def adjusted_rate_ratios(
    frame: pd.DataFrame,
    exposure: str,
    reference: str,
    adjust_for: Sequence[str] = (),
    *,
    events: str = "cases",
    exposure_col: str = "headcount",
    confidence: float = 0.95,
) -> AdjustedRatios:
    """Rate ratio of each level of ``exposure`` against ``reference``, adjusted for the ``adjust_for`` factors.

    ``frame`` holds grouped cells: one row per combination of the factors, with the number of ``events`` and
    the ``exposure_col`` (practitioner-years) they arose from. The Poisson GLM with offset log(exposure) is
    statsmodels' (equal to R's glm); standard errors are scaled by √max(1, φ) (module docstring). With no
    adjustment factors the ratio equals the crude rate ratio, and its interval the log-method (Katz) interval
    for Poisson counts.
    """
    confidence = checked_confidence(confidence)
    adjust_for = tuple(dict.fromkeys(f for f in adjust_for if f != exposure))
    cells, left_out, events_left_out = _usable(frame, (exposure, *adjust_for), events, exposure_col)
    levels = [str(v) for v in pd.unique(frame.loc[frame[exposure_col] > 0, exposure].astype(str))]
    empty = AdjustedRatios(exposure, reference, {lv: Ratio(NAN, NAN, NAN) for lv in levels}, adjust_for, NAN,
                           POISSON, 0, left_out, events_left_out)  # fmt: skip
    if cells.empty or reference not in set(cells[exposure].astype(str)):
        return empty
    kept = tuple(f for f in adjust_for if cells[f].nunique() > 1)
    cells = _collapse(cells, (exposure, *kept), events, exposure_col)
    references = {exposure: reference, **{f: _largest_level(cells, f, exposure_col) for f in kept}}
    design = _design(cells, (exposure, *kept), references)
    result = _fit(cells, design, events, exposure_col)
    dispersion = _dispersion(result)
    scale = max(1.0, dispersion) if not math.isnan(dispersion) else 1.0
    z = critical_z(confidence)
    params = pd.Series(result.params, index=design.columns)
    errors = pd.Series(result.bse, index=design.columns) * math.sqrt(scale)
    aliased = _aliased(design)
    ratios: dict[str, Ratio] = {}
    for level in levels:
        if level == reference:
            ratios[level] = Ratio(1.0, NAN, NAN)
            continue
        name = f"{exposure}[{level}]"
        if name not in params.index or name in aliased or not np.isfinite(errors[name]):
            ratios[level] = Ratio(NAN, NAN, NAN)
            continue
        beta, se = float(params[name]), float(errors[name])
        ratios[level] = Ratio(math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se))
    return AdjustedRatios(
        exposure=exposure,
        reference=reference,
        ratios=ratios,
        adjusted_for=kept,
        dispersion=dispersion,
        method=QUASI_POISSON if scale > 1 else POISSON,
        cells=len(cells),
        cells_left_out=left_out,
        events_left_out=events_left_out,
    )


def _aliased(design: pd.DataFrame) -> set[str]:
    """Columns that are linear combinations of earlier ones (no information of their own once adjusted)."""
    matrix = design.to_numpy()
    gram = matrix.T @ matrix  # the same rank as any set of the columns, and small (columns × columns)
    if np.linalg.matrix_rank(gram) == gram.shape[0]:
        return set()
    aliased: set[str] = set()
    kept: list[int] = []
    rank = 0
    for i, name in enumerate(design.columns):
        index = [*kept, i]
        new_rank = np.linalg.matrix_rank(gram[np.ix_(index, index)])
        if new_rank > rank:
            kept.append(i)
            rank = new_rank
        else:
            aliased.add(name)
    return aliased


@_one_blas_thread
def interaction_test(
    frame: pd.DataFrame,
    first: str,
    second: str,
    adjust_for: Sequence[str] = (),
    *,
    events: str = "cases",
    exposure_col: str = "headcount",
) -> NestedTest:
    """Does the gap by ``first`` differ between levels of ``second``? The ``first`` × ``second`` interaction.

    Two Poisson GLMs on the same cells, both with ``first``, ``second`` and the ``adjust_for`` factors as main
    effects, the larger with their interaction; the deviance change is tested on as many degrees of freedom
    as the interaction adds (aliased terms, from empty combinations, add none). When the larger model's φ > 1
    the test is quasi-likelihood: F = (ΔD ÷ df) ÷ φ on (df, residual df), as R's ``anova(test = "F")``;
    otherwise ΔD against χ²(df), as R's ``anova(test = "Chisq")``.
    """
    adjust_for = tuple(dict.fromkeys(f for f in adjust_for if f not in (first, second)))
    cells, _, _ = _usable(frame, (first, second, *adjust_for), events, exposure_col)
    factors = tuple(f for f in (first, second, *adjust_for) if len(cells) and cells[f].nunique() > 1)
    if first not in factors or second not in factors:
        return NestedTest(NAN, 0, NAN, NAN, "likelihood_ratio", NAN)
    cells = _collapse(cells, factors, events, exposure_col)
    references = {f: _largest_level(cells, f, exposure_col) for f in factors}
    main = _design(cells, factors, references)
    pair = cells[first].astype(str) + " × " + cells[second].astype(str)
    crossed = {
        f"{first}×{second}[{level}]": (pair == level).astype(float).to_numpy()
        for level in sorted(set(pair))
        if not (level.startswith(references[first] + " × ") or level.endswith(" × " + references[second]))
    }
    full = pd.concat([main, pd.DataFrame(crossed, index=cells.index)], axis=1)
    small, large = _fit(cells, main, events, exposure_col), _fit(cells, full, events, exposure_col)
    df = int(round(large.df_model - small.df_model))
    deviance = float(small.deviance - large.deviance)
    if df <= 0:
        return NestedTest(deviance, 0, NAN, NAN, "likelihood_ratio", _dispersion(large))
    dispersion = _dispersion(large)
    if dispersion > 1:
        statistic = deviance / df / dispersion
        p_value = float(sps.f.sf(statistic, df, large.df_resid))
        return NestedTest(deviance, df, statistic, p_value, "quasi_f", dispersion)
    return NestedTest(deviance, df, deviance, float(sps.chi2.sf(deviance, df)), "likelihood_ratio", dispersion)

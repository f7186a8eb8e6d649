"""Funnel plots: control limits around a pooled value, where each organisation falls, and overdispersion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq

from parity.stats._checks import (
    NAN,
    checked_confidence,
    checked_count,
    critical_z,
    flat_array,
    require_positive,
    require_same_length,
    require_within,
)
from parity.stats.intervals import BYAR_FROM, poisson_count_interval, poisson_count_intervals
from parity.stats.ratios import indirectly_standardised_ratio

# Funnel significance bands, widest first so that the stronger label wins: (confidence, above, below).
FUNNEL_BANDS = ((0.998, "higher_99.8", "lower_99.8"), (0.95, "higher_95", "lower_95"))


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's overdispersion: unadjusted z-scores, the dispersion ratio φ and τ²."""

    z_scores: tuple[float, ...]
    phi: float
    tau2: float


def proportion_funnel_limits(n: float, average: float, confidence: float) -> tuple[float, float]:
    """Control limits around a pooled proportion for denominator n, as PHEindicatormethods' proportion funnels.

    The limits are the proportions whose Wilson score test against ``average`` sits exactly at the
    confidence level, average ± z·√(average(1 − average)/n), clipped to [0, 1]. Hand-written: no library
    has funnel limits.
    """
    confidence = checked_confidence(confidence)
    n, average = checked_count("n", n), float(average)
    if math.isnan(n) or math.isnan(average):
        return (NAN, NAN)
    require_positive("n", n)
    if not 0 <= average <= 1:
        raise ValueError(f"average must be a proportion between 0 and 1; got {average!r}")
    half_width = critical_z(confidence) * math.sqrt(average * (1 - average) / n)
    return (max(0.0, average - half_width), min(1.0, average + half_width))


def funnel_significance(x: float, n: float, average: float) -> str:
    """Where x/n falls against the 95% and 99.8% funnel limits around average, as PHEindicatormethods.

    One of ``higher_99.8``, ``higher_95``, ``similar``, ``lower_95``, ``lower_99.8``; a point exactly on a
    limit is within it.
    """
    x, n = checked_count("x", x), checked_count("n", n)
    if math.isnan(x) or math.isnan(n) or math.isnan(float(average)):
        raise ValueError("funnel_significance needs numbers for x, n and average; got a missing value")
    require_positive("n", n)
    require_within("x", x, "n", n)
    proportion = x / n
    for level, high, low in FUNNEL_BANDS:
        lower, upper = proportion_funnel_limits(n, average, level)
        if proportion > upper:
            return high
        if proportion < lower:
            return low
    return "similar"


def ratio_funnel_significance(observed: float, expected: float) -> str:
    """Where observed ÷ expected falls against 1 at 95% and 99.8%, as PHEindicatormethods' ratio funnel significance.

    Uses the same exact/Byar limits as ``indirectly_standardised_ratio``; labels as ``funnel_significance``.
    """
    if math.isnan(float(observed)) or math.isnan(float(expected)):
        raise ValueError("ratio_funnel_significance needs numbers for observed and expected; got a missing value")
    for level, high, low in FUNNEL_BANDS:
        ratio = indirectly_standardised_ratio(observed, expected, level)
        if ratio.lower > 1:
            return high
        if ratio.upper < 1:
            return low
    return "similar"


def overdispersion(
    numerator: Sequence[float], denominator: Sequence[float], kind: str = "proportion", trim: float = 0.1
) -> Overdispersion:
    """Spiegelhalter's overdispersion estimate across organisations, as FunnelPlotR.

    Proportions: arcsine-square-root z-scores against the pooled proportion, winsorised at ``trim`` and
    ``1 − trim``. Ratios of observed (numerator) to expected (denominator): z = √E·log(O/E) with the
    ``trim`` tails truncated by rank, as FunnelPlotR's SHMI method. φ is the mean squared kept z-score;
    τ² is the DerSimonian–Laird between-organisation variance, 0 when φ ≤ 1. Hand-written: FunnelPlotR
    has no Python equivalent.
    """
    if kind not in ("proportion", "ratio"):
        raise ValueError(f"kind must be 'proportion' or 'ratio'; got {kind!r}")
    if not 0 < trim < 0.5:
        raise ValueError(f"trim must be a fraction between 0 and 0.5, such as 0.1; got {trim!r}")
    num, den = flat_array("numerator", numerator), flat_array("denominator", denominator)
    require_same_length(numerator=num, denominator=den)
    if len(num) == 0:
        raise ValueError("overdispersion needs at least one organisation")
    if np.isnan(num).any() or np.isnan(den).any():
        raise ValueError("numerator and denominator must not contain missing values")
    if (num < 0).any() or (den <= 0).any():
        raise ValueError("numerators must be zero or more and denominators greater than zero")

    with np.errstate(divide="ignore"):
        if kind == "proportion":
            if (num > den).any():
                raise ValueError("a numerator cannot be greater than its denominator for a proportion")
            target = np.arcsin(np.sqrt(num.sum() / den.sum()))
            z = (np.arcsin(np.sqrt(num / den)) - target) * 2 * np.sqrt(den)
            low, high = np.quantile(z, [trim, 1 - trim])  # R's default (type 7) quantiles, as FunnelPlotR
            kept, weights = np.clip(z, low, high), 4 * den  # weight = 1 / s², s = 1 / (2√n)
        else:
            z = np.sqrt(den) * np.log(num / den)
            groups = 1 / trim
            band = np.floor(sps.rankdata(z) * groups / (len(z) + 1))
            keep = (band > 0) & (band < groups - 1)
            kept, weights = z[keep], den[keep]  # weight = 1 / s², s = 1 / √E

    phi = float(np.mean(kept**2)) if len(kept) else NAN
    # FunnelPlotR zeroes τ² only when nφ < n − 1, so for φ just under 1 it reports a sliver of τ²; the
    # dashboard adjusts only when φ > 1, and τ² is 0 otherwise.
    tau2 = 0.0
    if phi > 1:
        spread = float(weights.sum() - (weights**2).sum() / weights.sum())
        tau2 = max(0.0, (len(kept) * phi - (len(kept) - 1)) / spread) if spread > 0 else NAN
    return Overdispersion(tuple(float(v) for v in z), phi, tau2)


def adjusted_proportion_funnel_limits(n: float, average: float, confidence: float, tau2: float) -> tuple[float, float]:
    """Overdispersion-adjusted limits for a proportion funnel, as FunnelPlotR's ``calculate_limits`` (data type PR).

    On the arcsine-square-root scale the within-organisation variance is s² = 1/(4n); the limits are
    sin²(asin(√average) ± z·√(s² + τ²)) with τ² from ``overdispersion(..., kind="proportion")``. With
    τ² = 0 they are FunnelPlotR's unadjusted arcsine limits. Unlike FunnelPlotR, the angle is clipped to
    [0, π/2] so that a limit never wraps round past 0 or 1 (Spiegelhalter, Statistics in Medicine 2005).
    """
    confidence = checked_confidence(confidence)
    n, average, tau2 = checked_count("n", n), float(average), float(tau2)
    if math.isnan(n) or math.isnan(average) or math.isnan(tau2):
        return (NAN, NAN)
    require_positive("n", n)
    if not 0 <= average <= 1:
        raise ValueError(f"average must be a proportion between 0 and 1; got {average!r}")
    if tau2 < 0:
        raise ValueError(f"tau2 must be zero or more; got {tau2!r}")
    centre = math.asin(math.sqrt(average))
    half_width = critical_z(confidence) * math.sqrt(1 / (4 * n) + tau2)
    lower = math.sin(max(0.0, centre - half_width)) ** 2
    upper = math.sin(min(math.pi / 2, centre + half_width)) ** 2
    return (lower, upper)


# --- Rate funnels: each organisation against the rest of the country ----------------------------


@dataclass(frozen=True)
class RateFunnel:
    """Each organisation's count against the count expected at the rest of the country's rate.

    ``expected``: E_i = the rest's rate × the organisation's exposure (leave-one-out); ``significance``: where
    O_i falls against E_i's limits (``FUNNEL_BANDS`` labels); ``phi``: Spiegelhalter's φ from the z-scores
    √E·log(O/E) (NaN with fewer than ``min_units`` organisations); ``scale``: the factor on the limits' log-distance
    from E, √max(1, φ) (1 when not allowed for).
    """

    expected: tuple[float, ...]
    significance: tuple[str, ...]
    phi: float
    scale: float


def _count_bound(x: float, confidence: float, upper: bool) -> float:
    """A bound of the exact (below 10) or Byar (from 10) interval of a count, on a continuous count."""
    return poisson_count_interval(x, confidence)[1 if upper else 0]


def rate_funnel_limits(expected: float, confidence: float, scale: float = 1.0) -> tuple[float, float]:
    """The counts between which an observed count is not significantly different from ``expected``.

    An observed count O is significantly high when the lower bound of its exact (below 10 events) or Byar (from
    10) interval exceeds E, and low when the upper bound is below E: the same reading as
    ``ratio_funnel_significance`` and as PHEindicatormethods' rate and ratio funnels (which find, for each
    count, the expected value at which it sits on a limit). The limits are those counts, found by root-finding on
    a continuous count. With ``scale`` > 1 (overdispersion), each limit's distance from E on the log scale is
    multiplied by it, so that the limits widen smoothly from the Poisson ones as φ rises past 1.
    """
    confidence = checked_confidence(confidence)
    expected, scale = float(expected), float(scale)
    if math.isnan(expected) or expected <= 0:
        return (NAN, NAN)
    if scale < 1:
        raise ValueError(f"scale must be 1 or more (√max(1, φ)); got {scale!r}")
    # Upper limit: the count whose interval's lower bound equals E (bounds rise with the count).
    upper = brentq(lambda x: _count_bound(x, confidence, upper=False) - expected, 0.0, 10 * expected + 50, xtol=1e-9)
    # Lower limit: the count whose interval's upper bound equals E; 0 when even no events is not significantly low.
    if _count_bound(0.0, confidence, upper=True) >= expected:
        lower = 0.0
    else:
        lower = brentq(lambda x: _count_bound(x, confidence, upper=True) - expected, 0.0, expected, xtol=1e-9)
    if scale > 1:
        upper = expected * (upper / expected) ** scale
        lower = expected * (lower / expected) ** scale if lower > 0 else 0.0
    return (lower, upper)


# Bisection to this width: brentq's tolerance in rate_funnel_limits.
_XTOL = 1e-9


def _counts_at(expected: np.ndarray, confidence: float, upper_bound: bool, hi: np.ndarray) -> np.ndarray:
    """For each expected count E, the continuous count in [0, hi] at which the interval's lower bound
    (``upper_bound`` False) or upper bound (True) equals E, by bisection on every E at once (a bound rises with
    the count, but for its small step down where the exact interval gives way to Byar's, handled by the caller)."""
    lo, hi = np.zeros_like(expected), hi.astype(float)
    for _ in range(200):
        if not (hi - lo > _XTOL).any():
            break
        mid = (lo + hi) / 2
        below = poisson_count_intervals(mid, confidence)[1 if upper_bound else 0] < expected
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def rate_funnel_limits_many(
    expected: Sequence[float] | np.ndarray, confidence: float, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``rate_funnel_limits`` for many expected counts at once: the same limits (within 1e-9 of a count), found
    together by bisection rather than one root-finding each (an organisation funnel asks for hundreds). The
    reading is PHEindicatormethods' (exact limits below 10 events, Byar's from 10), as in the one-at-a-time
    function; the quantiles are scipy's chi-square.

    Where a limit falls near ``BYAR_FROM`` events, where a bound steps down slightly as the exact interval gives
    way to Byar's and a count can sit on a limit twice, it is found by ``rate_funnel_limits`` itself, so that
    both always give the same one."""
    confidence = checked_confidence(confidence)
    values = np.asarray(expected, dtype=float).ravel()
    scale = float(scale)
    if scale < 1:
        raise ValueError(f"scale must be 1 or more (√max(1, φ)); got {scale!r}")
    lower, upper = np.full(len(values), NAN), np.full(len(values), NAN)
    usable = ~np.isnan(values) & (values > 0)
    e = values[usable]
    high = _counts_at(e, confidence, upper_bound=False, hi=10 * e + 50)
    at_zero = poisson_count_intervals(np.zeros(1), confidence)[1][0]
    low = np.where(at_zero >= e, 0.0, _counts_at(e, confidence, upper_bound=True, hi=e))
    near_switch = (np.abs(high - BYAR_FROM) < 0.5) | (np.abs(low - BYAR_FROM) < 0.5)
    for i in np.flatnonzero(near_switch):
        low[i], high[i] = rate_funnel_limits(e[i], confidence)
    if scale > 1:
        high = e * (high / e) ** scale
        low = np.where(low > 0, e * (np.where(low > 0, low, 1.0) / e) ** scale, 0.0)
    lower[usable], upper[usable] = low, high
    return lower, upper


def rate_funnel(
    events: Sequence[float], exposure: Sequence[float], *, min_units: int = 15, trim: float = 0.1
) -> RateFunnel:
    """Rate funnel for organisations: each against the rest of the country, overdispersion on the same scale.

    E_i is the rate of every other organisation × organisation i's exposure (leave-one-out, so a large
    organisation is not compared with itself). φ is Spiegelhalter's, as FunnelPlotR's SHMI method
    (``overdispersion(kind="ratio")``) on the same O/E; a count of 0 enters the z-scores as 0.5 (log 0 has no
    value). When φ > 1 and there are at least ``min_units`` organisations, the limits' log-distance from E is
    multiplied by √φ (multiplicative overdispersion, Spiegelhalter 2005), which equals the Poisson limits at
    φ = 1 and so never jumps.
    """
    observed, sizes = flat_array("events", events), flat_array("exposure", exposure)
    require_same_length(events=observed, exposure=sizes)
    if len(observed) < 2:
        raise ValueError("a rate funnel needs at least two organisations: each is compared with the rest")
    if np.isnan(observed).any() or np.isnan(sizes).any() or (observed < 0).any() or (sizes <= 0).any():
        raise ValueError("events must be counts of zero or more and exposures greater than zero")
    rest_rate = (observed.sum() - observed) / (sizes.sum() - sizes)
    expected = rest_rate * sizes
    phi, scale = NAN, 1.0
    usable = expected > 0
    if usable.sum() >= min_units:
        phi = overdispersion(np.maximum(observed[usable], 0.5), expected[usable], kind="ratio", trim=trim).phi
        scale = math.sqrt(max(1.0, phi))
    limits = {level: rate_funnel_limits_many(expected, level, scale) for level, _, _ in FUNNEL_BANDS}
    labels = []
    for i, (o, e) in enumerate(zip(observed, expected, strict=True)):
        label = "similar"
        if e > 0:
            for level, high, low in FUNNEL_BANDS:
                lower, upper = limits[level][0][i], limits[level][1][i]
                if o > upper:
                    label = high
                    break
                if o < lower:
                    label = low
                    break
        labels.append(label)
    return RateFunnel(tuple(float(e) for e in expected), tuple(labels), float(phi), scale)

"""Intervals for one proportion or one rate: Wilson for proportions, exact Poisson and Byar for rates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

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


def wilson_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion x/n (statsmodels), as PHEindicatormethods' wilson_lower/upper."""
    confidence = checked_confidence(confidence)
    x, n = checked_count("x", x), checked_count("n", n)
    if math.isnan(x) or math.isnan(n):
        return (NAN, NAN)
    require_positive("n", n)
    require_within("x", x, "n", n)
    lower, upper = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    # At x = 0 (x = n) the lower (upper) limit is exactly 0 (1); rounding can leave it a hair away.
    lower = 0.0 if x == 0 else min(max(float(lower), 0.0), 1.0)
    upper = 1.0 if x == n else min(max(float(upper), 0.0), 1.0)
    return (lower, upper)


def wilson_intervals(
    x: Sequence[float], n: Sequence[float], confidence: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``wilson_interval`` for many proportions in one statsmodels call (a page shows hundreds).

    Same values as ``wilson_interval`` element by element; NaN where n is 0 or a count is missing.
    """
    confidence = checked_confidence(confidence)
    xs, ns = flat_array("x", x), flat_array("n", n)
    require_same_length(x=xs, n=ns)
    if (xs < 0).any() or (ns < 0).any():
        raise ValueError("x and n must be counts of zero or more")
    if (xs > ns).any():
        raise ValueError("x cannot be larger than n: the events are among the n cases")
    usable = (ns > 0) & ~np.isnan(xs) & ~np.isnan(ns)
    lower, upper = np.full(len(xs), NAN), np.full(len(xs), NAN)
    if usable.any():
        lo, hi = proportion_confint(xs[usable], ns[usable], alpha=1 - confidence, method="wilson")
        lower[usable] = np.where(xs[usable] == 0, 0.0, np.clip(lo, 0.0, 1.0))
        upper[usable] = np.where(xs[usable] == ns[usable], 1.0, np.clip(hi, 0.0, 1.0))
    return lower, upper


# Counts from this many events use Byar's approximation; fewer, the exact (chi-square) interval.
BYAR_FROM = 10


def poisson_count_interval(x: float, confidence: float) -> tuple[float, float]:
    """Interval for a Poisson count: exact (chi-square) below ``BYAR_FROM``, Byar's approximation from it.

    Byar's method is written here because neither scipy nor statsmodels has it; the formula and the
    switch at 10 events follow PHEindicatormethods (byars_lower/byars_upper, phe_rate, calculate_ISRatio).
    """
    if x < BYAR_FROM:
        alpha = 1 - confidence
        lower = 0.0 if x == 0 else float(sps.chi2.ppf(alpha / 2, 2 * x)) / 2
        upper = float(sps.chi2.ppf(1 - alpha / 2, 2 * x + 2)) / 2
        return lower, upper
    z = critical_z(confidence)
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower, upper


def poisson_count_intervals(
    x: NDArray[np.float64], confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``poisson_count_interval`` of each of an array of counts (continuous ones too: a funnel's limits are found
    by bisection on them), the same formulas element by element: exact (chi-square, scipy) below ``BYAR_FROM``,
    Byar's from it, as PHEindicatormethods. Equal to the one-at-a-time function to the last bit or two (numpy's
    power and the C library's differ there); a test holds the two together."""
    alpha, z = 1 - confidence, critical_z(confidence)
    lower, upper = np.empty_like(x), np.empty_like(x)
    exact = x < BYAR_FROM
    small = x[exact]
    lower[exact] = np.where(small == 0, 0.0, sps.chi2.ppf(alpha / 2, np.where(small == 0, 1.0, 2 * small)) / 2)
    upper[exact] = sps.chi2.ppf(1 - alpha / 2, 2 * small + 2) / 2
    large = x[~exact]
    lower[~exact] = large * (1 - 1 / (9 * large) - z / (3 * np.sqrt(large))) ** 3
    upper[~exact] = (large + 1) * (1 - 1 / (9 * (large + 1)) + z / (3 * np.sqrt(large + 1))) ** 3
    return lower, upper


def rate_interval(x: float, n: float, confidence: float = 0.95, per: float = 1000) -> tuple[float, float]:
    """Interval for the rate x/n × per: exact Poisson below 10 events, Byar from 10, as PHEindicatormethods phe_rate."""
    confidence = checked_confidence(confidence)
    x, n = checked_count("x", x), checked_count("n", n)
    require_positive("per", per)
    if math.isnan(x) or math.isnan(n):
        return (NAN, NAN)
    require_positive("n", n)
    lower, upper = poisson_count_interval(x, confidence)
    return (lower / n * per, upper / n * per)

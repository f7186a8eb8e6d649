"""Ratios with their intervals and how to read them: risk ratio (relative likelihood), standardised ratio."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats.contingency import relative_risk

from parity.stats._checks import (
    NAN,
    checked_confidence,
    checked_count,
    critical_z,
    flat_array,
    require_positive,
    require_same_length,
    require_within,
    whole_count,
)
from parity.stats.intervals import rate_interval


@dataclass(frozen=True)
class Ratio:
    """A ratio with its confidence interval."""

    value: float
    lower: float
    upper: float


# The four-fifths band as WRES reads a relative likelihood: 0.80 to 1.25 is "non-adverse".
BAND = (0.8, 1.25)
# How a ratio's interval sits against the band (``band_judgement``).
OUTSIDE = "outside"
WITHIN = "within"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Judgement:
    """How a ratio reads against the four-fifths band and against 1."""

    in_band: bool
    significant: bool
    direction: str  # "higher", "lower" or "similar"
    band: str = INCONCLUSIVE  # "outside", "within" or "inconclusive": the whole interval against the band


def risk_ratio(a: int, n1: int, c: int, n2: int, confidence: float = 0.95) -> Ratio:
    """Risk ratio (a/n1) ÷ (c/n2) with Katz's log interval, from scipy.stats.contingency.relative_risk."""
    confidence = checked_confidence(confidence)
    if any(math.isnan(float(v)) for v in (a, n1, c, n2)):
        return Ratio(NAN, NAN, NAN)
    a, n1, c, n2 = whole_count("a", a), whole_count("n1", n1), whole_count("c", c), whole_count("n2", n2)
    require_positive("n1", n1)
    require_positive("n2", n2)
    require_within("a", a, "n1", n1)
    require_within("c", c, "n2", n2)
    result = relative_risk(a, n1, c, n2)
    interval = result.confidence_interval(confidence_level=confidence)
    return Ratio(float(result.relative_risk), float(interval.low), float(interval.high))


def risk_ratios(
    a: Sequence[float], n1: Sequence[float], c: Sequence[float], n2: Sequence[float], confidence: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``risk_ratio`` for many pairs at once: ratios and Katz log intervals, exp(log RR ± z·√(1/a − 1/n1 + 1/c −
    1/n2)), which is what scipy's relative_risk computes one pair at a time. NaN where a or c is 0 or a count is
    missing (the ratio is then 0 or infinite: not estimable)."""
    z = critical_z(checked_confidence(confidence))
    xa, xn1, xc, xn2 = (flat_array(name, v) for name, v in (("a", a), ("n1", n1), ("c", c), ("n2", n2)))
    require_same_length(a=xa, n1=xn1, c=xc, n2=xn2)
    usable = (xa > 0) & (xc > 0) & (xn1 >= xa) & (xn2 >= xc)
    ratio, lower, upper = (np.full(len(xa), NAN) for _ in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (xa / xn1) / (xc / xn2)
        se = np.sqrt(1 / xa - 1 / xn1 + 1 / xc - 1 / xn2)
        ratio[usable] = value[usable]
        lower[usable] = (value * np.exp(-z * se))[usable]
        upper[usable] = (value * np.exp(z * se))[usable]
    return ratio, lower, upper


def band_judgement(ratio: Ratio, band: tuple[float, float] = BAND) -> str:
    """Where the whole interval lies against the band (inclusive): ``outside``, ``within`` or ``inconclusive``.

    The band is WRES's non-adverse range. ``outside``: the interval lies wholly above the band's upper end or
    wholly below its lower end, so the ratio is adverse (or favourable) beyond the four-fifths rule's tolerance.
    ``within``: the interval lies wholly inside the band, which is the two one-sided tests (TOST) reading of
    equivalence at the interval's confidence (Schuirmann, 1987; an equivalence margin of 0.80-1.25 as in
    bioequivalence). Otherwise, or with a missing bound, the data cannot tell: ``inconclusive``. An interval
    that merely includes 1 is not evidence of similarity.
    """
    low, high = _checked_band(band)
    lower, upper = float(ratio.lower), float(ratio.upper)
    if math.isnan(lower) or math.isnan(upper):
        return INCONCLUSIVE
    if lower > high or upper < low:
        return OUTSIDE
    if low <= lower and upper <= high:
        return WITHIN
    return INCONCLUSIVE


def _checked_band(band: tuple[float, float]) -> tuple[float, float]:
    low, high = band
    if not 0 < low < high:
        raise ValueError(f"band must be two positive numbers, lower first, such as (0.8, 1.25); got {band!r}")
    return float(low), float(high)


def ratio_judgement(ratio: Ratio, band: tuple[float, float] = BAND) -> Judgement:
    """Reads a ratio against the four-fifths band (inclusive) and against 1 (significant when the interval excludes it).

    The band is the four-fifths rule as the NHS Workforce Race Equality Standard (WRES) reads a relative
    likelihood: 0.80 to 1.25 is "non-adverse".

    ``direction`` is the direction the interval supports: "higher" when it lies wholly above 1, "lower" when
    wholly below, otherwise "similar" (which says only that the interval includes 1, not that the groups are
    alike: ``band`` says that). A NaN ratio or bound is never in band and never significant.
    """
    low, high = _checked_band(band)
    in_band = bool(low <= ratio.value <= high)
    if ratio.lower > 1:
        direction = "higher"
    elif ratio.upper < 1:
        direction = "lower"
    else:
        direction = "similar"
    return Judgement(
        in_band=in_band, significant=direction != "similar", direction=direction, band=band_judgement(ratio, band)
    )


def indirectly_standardised_ratio(observed: float, expected: float, confidence: float = 0.95) -> Ratio:
    """Observed ÷ expected: exact limits below 10 events, Byar's from 10, as PHEindicatormethods calculate_ISRatio."""
    confidence = checked_confidence(confidence)
    observed, expected = checked_count("observed", observed), checked_count("expected", expected)
    if math.isnan(observed) or math.isnan(expected):
        return Ratio(NAN, NAN, NAN)
    require_positive("expected", expected)
    # The count's exact or Byar interval divided by the expected count: a rate per 1 expected event.
    lower, upper = rate_interval(observed, expected, confidence, per=1)
    return Ratio(observed / expected, lower, upper)

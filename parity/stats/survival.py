"""Kaplan–Meier curves with pointwise limits and medians, for cases written out or grouped with counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from parity.stats._checks import checked_confidence, critical_z, frequency_weights, survival_inputs


@dataclass(frozen=True)
class Survival:
    """A Kaplan–Meier curve with pointwise limits, and its median with the median's interval."""

    times: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    median: float
    median_lower: float
    median_upper: float


def _first_time_at_or_below(times: NDArray[np.float64], curve: NDArray[np.float64], level: float) -> float:
    # A curve that lands exactly on the level reaches it there; the tolerance keeps rounding from deciding.
    below = np.flatnonzero(curve <= level + 1e-12)
    return float(times[below[0]]) if len(below) else math.inf


def kaplan_meier(
    durations: Sequence[float],
    observed: Sequence[float],
    confidence: float = 0.95,
    *,
    weights: Sequence[float] | None = None,
) -> Survival:
    """Kaplan–Meier estimate with exponential Greenwood (log(−log)) pointwise limits and median, as lifelines.

    Written here rather than taken from statsmodels because the dashboard needs lifelines' conventions:
    the curve is reported at time 0 and at every distinct duration (censored ones included), the band is
    log(−log) with Greenwood's variance, and the median (and each end of its interval) is the first time
    the curve (each pointwise limit) falls to 0.5 or below, ``math.inf`` where it never does: "not reached".
    Two deliberate differences: where the curve lands exactly on 0.5, lifelines' median depends on
    floating-point rounding (it may report the next event time); here it is the time the curve reaches 0.5.
    And a log(−log) band can rise again at small numbers: where it dips to 0.5 and then ends above it,
    lifelines reports the median's limit as not reached; here it is the first time the band reaches 0.5.
    ``weights`` are frequency weights (lifelines' ``weights``): grouped rows of (duration, status, count)
    give exactly the estimate of the cases written out one by one.
    """
    confidence = checked_confidence(confidence)
    times, events = survival_inputs(durations, observed)
    counts = frequency_weights(weights, len(times))
    timeline, position = np.unique(times, return_inverse=True)
    deaths = np.bincount(position, weights=events * counts, minlength=len(timeline))
    leaving = np.bincount(position, weights=counts, minlength=len(timeline))
    total = counts.sum()
    at_risk = total - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    if timeline[0] > 0:  # the curve starts at 1 at time 0
        timeline = np.concatenate(([0.0], timeline))
        deaths = np.concatenate(([0.0], deaths))
        at_risk = np.concatenate(([total], at_risk))

    survival = np.cumprod(1 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood's sum; a step where everyone at risk dies adds nothing (the curve is then 0), as lifelines.
        step = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
        greenwood = np.cumsum(step)
        log_survival = np.log(survival)
        centre = np.log(-log_survival)
        spread = critical_z(confidence) * np.sqrt(greenwood) / np.abs(log_survival)
        lower = np.exp(-np.exp(centre + spread))
        upper = np.exp(-np.exp(centre - spread))
    at_one, at_zero = survival >= 1, survival <= 0
    lower[at_one], upper[at_one] = 1.0, 1.0
    lower[at_zero], upper[at_zero] = 0.0, 0.0

    return Survival(
        times=tuple(float(t) for t in timeline),
        survival=tuple(float(s) for s in survival),
        lower=tuple(float(v) for v in lower),
        upper=tuple(float(v) for v in upper),
        median=_first_time_at_or_below(timeline, survival, 0.5),
        median_lower=_first_time_at_or_below(timeline, lower, 0.5),
        median_upper=_first_time_at_or_below(timeline, upper, 0.5),
    )

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

    def read_between(self, time: float, *, rounded: bool = False) -> tuple[float, float, float]:
        """A life table's curve and pointwise limits at ``time``, read as ``life_table`` reads its median: by
        straight lines between the bounds (``rounded``: between the middles of flat stretches); NaN beyond the
        last bound."""
        times = np.asarray(self.times)
        if not len(times) or time > times[-1]:
            return (math.nan, math.nan, math.nan)
        read = []
        for values in (self.survival, self.lower, self.upper):
            points = _flat_middles(times, np.asarray(values)) if rounded else (times, np.asarray(values))
            read.append(float(np.interp(time, *points)))
        return (read[0], read[1], read[2])


def _log_log_limits(
    survival: NDArray[np.float64], greenwood: NDArray[np.float64], confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits on the log(-log) scale from Greenwood's sum (as lifelines): 1 where the curve is 1, 0
    where it is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_survival = np.log(survival)
        centre = np.log(-log_survival)
        spread = critical_z(confidence) * np.sqrt(greenwood) / np.abs(log_survival)
        lower = np.exp(-np.exp(centre + spread))
        upper = np.exp(-np.exp(centre - spread))
    at_one, at_zero = survival >= 1, survival <= 0
    lower[at_one], upper[at_one] = 1.0, 1.0
    lower[at_zero], upper[at_zero] = 0.0, 0.0
    return lower, upper


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
    lower, upper = _log_log_limits(survival, greenwood, confidence)

    return Survival(
        times=tuple(float(t) for t in timeline),
        survival=tuple(float(s) for s in survival),
        lower=tuple(float(v) for v in lower),
        upper=tuple(float(v) for v in upper),
        median=_first_time_at_or_below(timeline, survival, 0.5),
        median_lower=_first_time_at_or_below(timeline, lower, 0.5),
        median_upper=_first_time_at_or_below(timeline, upper, 0.5),
    )


def _first_crossing(times: NDArray[np.float64], curve: NDArray[np.float64], level: float) -> float:
    """Where a curve known at ``times`` (straight lines between them) first falls to ``level``; inf if never."""
    below = np.flatnonzero(curve <= level + 1e-12)
    if not len(below):
        return math.inf
    j = int(below[0])
    if j == 0 or curve[j - 1] == curve[j]:
        return float(times[j])
    share = (curve[j - 1] - level) / (curve[j - 1] - curve[j])
    return float(times[j - 1] + share * (times[j] - times[j - 1]))


def _flat_middles(times: Sequence[float], curve: Sequence[float]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A curve from rounded counts as points to read between: each flat stretch (a run of equal values) becomes one
    point at its middle time, but the first stretch (the start, exactly 1) its last time.

    A rounded count stays put while the exact one moves by up to the rounding base, so a flat stretch says the
    exact curve passed that level somewhere inside it, and its middle is the unbiased guess; reading at the
    stretch's first time instead puts every level too early (by half a rounding step: with 20 cases and counts
    rounded to 5, a median a fifth too short). Where the curve moves at every time this changes nothing."""
    t, v = np.asarray(times, dtype=float), np.asarray(curve, dtype=float)
    if not len(t):
        return t, v
    starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
    ends = np.concatenate((starts[1:] - 1, [len(v) - 1]))
    middles = (t[starts] + t[ends]) / 2
    middles[0] = t[ends[0]]
    return middles, v[starts]


def life_table(
    bounds: Sequence[float],
    at_risk: Sequence[float],
    closed: Sequence[float],
    censored: Sequence[float],
    confidence: float = 0.95,
    *,
    rounded: bool = False,
) -> Survival:
    """The actuarial (Cutler–Ederer) life table, as Collett (Modelling Survival Data in Medical Research, §2.1.2
    and §2.4), R KMsurv ``lifetab`` and Stata ``ltable``.

    Interval j runs from ``bounds[j]`` to ``bounds[j + 1]``; ``at_risk[j]`` cases enter it, ``closed[j]`` close in
    it and ``censored[j]`` are censored in it (one fewer of each than ``bounds``). The censored are taken to be at
    risk for half the interval: the effective number at risk is ``at_risk − censored / 2``, the interval's share
    closing is ``closed`` over that, and the curve at each bound is the product of (1 − share) over the intervals
    before it. Greenwood's variance over the effective numbers and log(−log) pointwise limits, as lifelines'
    ``KaplanMeierFitter`` (``kaplan_meier``). The curve is known at the bounds only, so the median (and each end
    of its interval) is read by straight lines between the bounds either side of 50% (Collett §2.4),
    ``math.inf`` where it never falls that far. ``rounded``: the counts come from rounded ones, and the median
    is read between the middles of the curve's flat stretches instead (``_flat_middles``). The counts need not be
    whole (they may come from a fit to protected counts), and ``censored`` may be below 0 where it is the fall in
    a rounded number at risk less the closures: the effective number at risk is then still the mean of those at
    the interval's two ends plus half its closures, and clipping it at 0 would lean every curve low.
    """
    confidence = checked_confidence(confidence)
    edges = np.asarray(bounds, dtype=float)
    entering, ending, leaving = (np.asarray(v, dtype=float) for v in (at_risk, closed, censored))
    if not (len(entering) == len(ending) == len(leaving) == len(edges) - 1) or len(edges) < 2:
        raise ValueError("a life table needs one more bound than intervals, and one count of each per interval")
    if (np.diff(edges) <= 0).any():
        raise ValueError("the bounds of a life table must increase")
    effective = entering - leaving / 2
    if (np.concatenate([entering, ending]) < 0).any() or (ending > effective + 1e-9).any():
        raise ValueError("an interval cannot close more cases than are at risk in it, and counts are 0 or more")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(effective > 0, ending / effective, 0.0)
        step = np.where(effective > ending, ending / (effective * (effective - ending)), 0.0)
    survival = np.concatenate(([1.0], np.cumprod(1 - share)))
    greenwood = np.concatenate(([0.0], np.cumsum(step)))
    lower, upper = _log_log_limits(survival, greenwood, confidence)
    return Survival(
        times=tuple(float(t) for t in edges),
        survival=tuple(float(s) for s in survival),
        lower=tuple(float(v) for v in lower),
        upper=tuple(float(v) for v in upper),
        median=_first_crossing(*_read_points(edges, survival, rounded), 0.5),
        median_lower=_first_crossing(*_read_points(edges, lower, rounded), 0.5),
        median_upper=_first_crossing(*_read_points(edges, upper, rounded), 0.5),
    )


def _read_points(times: NDArray[np.float64], curve: NDArray[np.float64], rounded: bool) -> tuple[NDArray, NDArray]:
    return _flat_middles(times, curve) if rounded else (times, curve)

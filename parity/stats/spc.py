"""Statistical process control: the XmR chart with Making Data Count's rules and icons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from parity.stats._checks import flat_array

# Constants of the XmR chart, as NHSRplotthedots and Making Data Count.
LIMIT_SIGMAS = 2.66  # process limits at mean ± 2.66 × mean moving range (3σ)
SCREEN_RATIO = 3.267  # moving ranges at or above 3.267 × their mean are dropped when screening
RUN = 7  # points in a shift or a trend


@dataclass(frozen=True)
class SPC:
    """An XmR chart: centre line, process limits, a special-cause label per point, and its icons."""

    mean: float
    lower_limit: float
    upper_limit: float
    special_cause: tuple[str, ...]
    variation_icon: str  # "improvement", "concern", "neutral" or "common_cause"
    assurance_icon: str | None  # "pass", "fail", "inconsistent", or None without a target


def _mark_windows(ends: NDArray[np.bool_], width: int = RUN) -> NDArray[np.bool_]:
    """Every point of each run of ``width`` whose last point is flagged in ``ends``."""
    marked = np.zeros(len(ends), dtype=bool)
    for end in np.flatnonzero(ends):
        marked[max(0, end - width + 1) : end + 1] = True
    return marked


def _shift_ends(side: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points that close a run of seven on the same side of the mean (a point on the mean breaks a run)."""
    ends = np.zeros(len(side), dtype=bool)
    for i in range(RUN - 1, len(side)):
        window = side[i - RUN + 1 : i + 1]
        ends[i] = window[0] != 0 and bool((window == window[0]).all())
    return ends


def _trend_ends(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """+1 or −1 at points that close seven points each strictly above (below) the one before, else 0."""
    ends = np.zeros(len(values))
    steps = np.sign(np.diff(values))
    for i in range(RUN - 1, len(values)):
        window = steps[i - RUN + 1 : i]
        if (window == 1).all():
            ends[i] = 1
        elif (window == -1).all():
            ends[i] = -1
    return ends


def _two_in_three(close: NDArray[np.bool_], side: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Points near a limit that belong to three consecutive points, all on one side, with two or more near it."""
    flagged = np.zeros(len(close), dtype=bool)
    for start in range(len(close) - 2):
        window = slice(start, start + 3)
        same_side = side[start] != 0 and bool((side[window] == side[start]).all())
        if same_side and close[window].sum() >= 2:
            flagged[window] = True
    return flagged & close


def _trend_direction(values: NDArray[np.float64], in_trend: NDArray[np.bool_], i: int) -> str:
    """The step that carries a trend point: to the next point if that is in a trend too, else from the last."""
    if i + 1 < len(values) and in_trend[i + 1]:
        step = values[i + 1] - values[i]
    else:
        step = values[i] - values[i - 1] if i > 0 else 0.0
    return "Increasing" if step > 0 else "Decreasing"


def _special_cause_labels(
    values: NDArray[np.float64], mean: float, lower: float, upper: float, near: float
) -> tuple[str, ...]:
    """NHSRplotthedots' special_cause_type per point, its rules in its order of precedence."""
    side = np.sign(values - mean)
    outside = (values > upper) | (values < lower)
    close = ~outside & ((values < mean - near) | (values > mean + near))
    in_trend = _mark_windows(_trend_ends(values) != 0)
    in_two_of_three = _two_in_three(close, side)
    in_shift = _mark_windows(_shift_ends(side))

    labels = []
    for i in range(len(values)):
        where = "Above" if side[i] > 0 else "Below"
        if outside[i]:
            labels.append("Above UCL" if side[i] == 1 else "Below LCL")
        elif in_trend[i]:
            labels.append(f"7 Point Trend ({_trend_direction(values, in_trend, i)})")
        elif in_two_of_three[i]:
            labels.append(f"2 in 3 {where} CL")
        elif in_shift[i]:
            labels.append(f"7 Points {where} CL")
        else:
            labels.append("Common Cause")
    return tuple(labels)


def _label_sign(label: str) -> int:
    if "Above" in label or "Increasing" in label:
        return 1
    if "Below" in label or "Decreasing" in label:
        return -1
    return 0


def _variation_icon(last_label: str, direction: int) -> str:
    """Making Data Count variation icon, read from the last point as NHSRplotthedots does."""
    sign = _label_sign(last_label)
    if sign == 0:
        return "common_cause"
    if direction == 0:
        return "neutral"
    return "improvement" if sign == direction else "concern"


def _assurance_icon(target: float | None, lower: float, upper: float, direction: int) -> str | None:
    """Making Data Count assurance icon: will the process reliably meet the target (NHSRplotthedots' rules)?"""
    if target is None or direction == 0:
        return None
    if target > upper:
        return "fail" if direction == 1 else "pass"
    if target < lower:
        return "pass" if direction == 1 else "fail"
    return "inconsistent"


def xmr(
    values: Sequence[float],
    improvement: str = "increase",
    screen_outliers: bool = True,
    target: float | None = None,
) -> SPC:
    """XmR chart with Making Data Count rules and icons, as NHSRplotthedots ptd_spc.

    Limits are mean ± 2.66 × mean moving range, after dropping moving ranges at or above 3.267 × their
    mean when screening. Labels are NHSRplotthedots' ``special_cause_type``; the variation icon reads the
    last point; the assurance icon compares ``target`` with the limits.
    """
    direction = _direction(improvement)
    y = flat_array("values", values)
    if len(y) < 2:
        raise ValueError(f"an XmR chart needs at least two values; got {len(y)}")
    if not np.isfinite(y).all():
        raise ValueError("values must all be numbers: fill or drop missing periods before charting")

    mean = float(y.mean())
    moving_ranges = np.abs(np.diff(y))
    mean_range = float(moving_ranges.mean())
    if screen_outliers and mean_range > 0:
        mean_range = float(moving_ranges[moving_ranges < SCREEN_RATIO * mean_range].mean())
    lower, upper = mean - LIMIT_SIGMAS * mean_range, mean + LIMIT_SIGMAS * mean_range
    labels = _special_cause_labels(y, mean, lower, upper, near=2 * LIMIT_SIGMAS / 3 * mean_range)

    variation = _variation_icon(labels[-1], direction)
    assurance = _assurance_icon(target, lower, upper, direction)
    return SPC(mean, lower, upper, labels, variation, assurance)


def point_types(chart: SPC, improvement: str = "increase") -> tuple[str, ...]:
    """NHSRplotthedots' ``point_type`` per point: how a chart colours it.

    "special_cause_improvement" or "special_cause_concern" where a rule flags the point and the direction of
    improvement says which way is better; "special_cause_neutral" where it flags the point and neither direction
    is better; "common_cause" otherwise.
    """
    direction = _direction(improvement)
    types = []
    for label in chart.special_cause:
        sign = _label_sign(label)
        if sign == 0:
            types.append("common_cause")
        elif direction == 0:
            types.append("special_cause_neutral")
        else:
            types.append("special_cause_improvement" if sign == direction else "special_cause_concern")
    return tuple(types)


def _direction(improvement: str) -> int:
    directions = {"increase": 1, "decrease": -1, "neutral": 0}
    if improvement not in directions:
        raise ValueError(f"improvement must be 'increase', 'decrease' or 'neutral'; got {improvement!r}")
    return directions[improvement]


@dataclass(frozen=True)
class Segment:
    """One stretch of a rebased XmR chart: points ``start`` to ``stop - 1``, with limits of their own."""

    start: int
    stop: int
    chart: SPC


def rebased_xmr(
    values: Sequence[float],
    rebase_at: Sequence[int] = (),
    improvement: str = "increase",
    screen_outliers: bool = True,
    target: float | None = None,
) -> tuple[Segment, ...]:
    """An XmR chart recalculated from each index in ``rebase_at``, as NHSRplotthedots' ``rebase``.

    Each segment has its own mean, limits and special-cause labels, computed from its points alone (a run never
    crosses a rebase); the chart's icons are the last segment's. Without ``rebase_at``, one segment: ``xmr``.
    Each segment needs at least two points.
    """
    n = len(values)
    starts = sorted(set(rebase_at))
    if any(not 0 < s < n for s in starts):
        raise ValueError(f"a rebase must fall after the first point and on or before the last; got {starts}")
    bounds = [0, *starts, n]
    segments = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        if stop - start < 2:
            raise ValueError("each stretch between rebases needs at least two points")
        part = xmr(list(values[start:stop]), improvement, screen_outliers, target)
        segments.append(Segment(start, stop, part))
    return tuple(segments)

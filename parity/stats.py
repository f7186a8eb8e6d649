"""Every interval, ratio, test and control limit Parity shows (design §4).

Pure functions: plain numbers and sequences in, small frozen dataclasses or tuples out. Where scipy or
statsmodels already implement a method it is used as is; the rest is written here and follows the
reference implementation named in each docstring, checked against that reference's own published test
cases in ``tests/test_stats.py``. A ``confidence`` is always a proportion strictly between 0 and 1
(0.95, 0.998), never a percentage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps
from scipy.stats.contingency import relative_risk
from statsmodels.duration.survfunc import survdiff
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

NAN = math.nan

# Funnel significance bands, widest first so that the stronger label wins: (confidence, above, below).
FUNNEL_BANDS = ((0.998, "higher_99.8", "lower_99.8"), (0.95, "higher_95", "lower_95"))


@dataclass(frozen=True)
class Ratio:
    """A ratio with its confidence interval."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Judgement:
    """How a ratio reads against the four-fifths band and against 1."""

    in_band: bool
    significant: bool
    direction: str  # "higher", "lower" or "similar"


@dataclass(frozen=True)
class Test:
    """A hypothesis test: its statistic, p-value and the method that produced them."""

    __test__ = False  # not a pytest test class, although its name starts with "Test"

    statistic: float
    p_value: float
    method: str


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


@dataclass(frozen=True)
class SPC:
    """An XmR chart: centre line, process limits, a special-cause label per point, and its icons."""

    mean: float
    lower_limit: float
    upper_limit: float
    special_cause: tuple[str, ...]
    variation_icon: str  # "improvement", "concern", "neutral" or "common_cause"
    assurance_icon: str | None  # "pass", "fail", "inconsistent", or None without a target


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's overdispersion: unadjusted z-scores, the dispersion ratio φ and τ²."""

    z_scores: tuple[float, ...]
    phi: float
    tau2: float


# --- input checks -------------------------------------------------------------------------------------


def _confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.number)) or not (0 < confidence < 1):
        raise ValueError(
            f"confidence must be a proportion strictly between 0 and 1, such as 0.95 or 0.998; got {confidence!r}"
        )
    return float(confidence)


@lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _count(name: str, value: float) -> float:
    """A count of zero or more; NaN passes through for the caller to propagate."""
    number = float(value)
    if math.isnan(number):
        return number
    if number < 0 or math.isinf(number):
        raise ValueError(f"{name} must be a finite count of zero or more; got {value!r}")
    return number


def _whole(name: str, value: float) -> int:
    number = _count(name, value)
    if math.isnan(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number of people; got {value!r}")
    return int(number)


def _positive(name: str, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero; got {value!r}")


def _within(part_name: str, part: float, whole_name: str, whole: float) -> None:
    if part > whole:
        raise ValueError(f"{part_name} ({part!r}) cannot be greater than {whole_name} ({whole!r})")


def _array(name: str, values: Sequence[float]) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of numbers")
    return array


def _same_length(**arrays: NDArray[np.float64]) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {length}" for name, length in lengths.items())
        raise ValueError(f"sequences must be the same length: {described}")


# --- proportions and rates ----------------------------------------------------------------------------


def wilson_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion x/n (statsmodels), as PHEindicatormethods' wilson_lower/upper."""
    confidence = _confidence(confidence)
    x, n = _count("x", x), _count("n", n)
    if math.isnan(x) or math.isnan(n):
        return (NAN, NAN)
    _positive("n", n)
    _within("x", x, "n", n)
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
    confidence = _confidence(confidence)
    xs, ns = _array("x", x), _array("n", n)
    _same_length(x=xs, n=ns)
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


def _poisson_count_interval(x: float, confidence: float) -> tuple[float, float]:
    """Interval for a Poisson count: exact (chi-square) below 10, Byar's approximation from 10.

    Byar's method is written here because neither scipy nor statsmodels has it; the formula and the
    switch at 10 events follow PHEindicatormethods (byars_lower/byars_upper, phe_rate, calculate_ISRatio).
    """
    if x < 10:
        alpha = 1 - confidence
        lower = 0.0 if x == 0 else float(sps.chi2.ppf(alpha / 2, 2 * x)) / 2
        upper = float(sps.chi2.ppf(1 - alpha / 2, 2 * x + 2)) / 2
        return lower, upper
    z = _z(confidence)
    lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower, upper


def rate_interval(x: float, n: float, confidence: float = 0.95, per: float = 1000) -> tuple[float, float]:
    """Interval for the rate x/n × per: exact Poisson below 10 events, Byar from 10, as PHEindicatormethods phe_rate."""
    confidence = _confidence(confidence)
    x, n = _count("x", x), _count("n", n)
    _positive("per", per)
    if math.isnan(x) or math.isnan(n):
        return (NAN, NAN)
    _positive("n", n)
    lower, upper = _poisson_count_interval(x, confidence)
    return (lower / n * per, upper / n * per)


def indirectly_standardised_ratio(observed: float, expected: float, confidence: float = 0.95) -> Ratio:
    """Observed ÷ expected: exact limits below 10 events, Byar's from 10, as PHEindicatormethods calculate_ISRatio."""
    confidence = _confidence(confidence)
    observed, expected = _count("observed", observed), _count("expected", expected)
    if math.isnan(observed) or math.isnan(expected):
        return Ratio(NAN, NAN, NAN)
    _positive("expected", expected)
    lower, upper = _poisson_count_interval(observed, confidence)
    return Ratio(observed / expected, lower / expected, upper / expected)


# --- ratios and two-group comparisons -----------------------------------------------------------------


def risk_ratio(a: int, n1: int, c: int, n2: int, confidence: float = 0.95) -> Ratio:
    """Risk ratio (a/n1) ÷ (c/n2) with Katz's log interval, from scipy.stats.contingency.relative_risk."""
    confidence = _confidence(confidence)
    if any(math.isnan(float(v)) for v in (a, n1, c, n2)):
        return Ratio(NAN, NAN, NAN)
    a, n1, c, n2 = _whole("a", a), _whole("n1", n1), _whole("c", c), _whole("n2", n2)
    _positive("n1", n1)
    _positive("n2", n2)
    _within("a", a, "n1", n1)
    _within("c", c, "n2", n2)
    result = relative_risk(a, n1, c, n2)
    interval = result.confidence_interval(confidence_level=confidence)
    return Ratio(float(result.relative_risk), float(interval.low), float(interval.high))


def ratio_judgement(ratio: Ratio, band: tuple[float, float] = (0.8, 1.25)) -> Judgement:
    """Reads a ratio against the four-fifths band (inclusive) and against 1 (significant when the interval excludes it).

    ``direction`` is the direction the interval supports: "higher" when it lies wholly above 1, "lower" when
    wholly below, otherwise "similar". A NaN ratio or bound is never in band and never significant.
    """
    low, high = band
    if not 0 < low < high:
        raise ValueError(f"band must be two positive numbers, lower first, such as (0.8, 1.25); got {band!r}")
    in_band = bool(low <= ratio.value <= high)
    if ratio.lower > 1:
        direction = "higher"
    elif ratio.upper < 1:
        direction = "lower"
    else:
        direction = "similar"
    return Judgement(in_band=in_band, significant=direction != "similar", direction=direction)


def compare_proportions(a: int, n1: int, c: int, n2: int) -> Test:
    """Tests a/n1 against c/n2: scipy's Fisher exact test if any expected count is below 5, else Pearson's chi-square.

    The chi-square has no continuity correction (scipy chi2_contingency(correction=False)). Fisher's
    statistic is the sample odds ratio, as scipy reports it.
    """
    a, n1, c, n2 = _whole("a", a), _whole("n1", n1), _whole("c", c), _whole("n2", n2)
    _positive("n1", n1)
    _positive("n2", n2)
    _within("a", a, "n1", n1)
    _within("c", c, "n2", n2)
    table = np.array([[a, n1 - a], [c, n2 - c]])
    if (sps.contingency.expected_freq(table) < 5).any():
        result = sps.fisher_exact(table)
        return Test(float(result.statistic), float(result.pvalue), "fisher_exact")
    result = sps.chi2_contingency(table, correction=False)
    return Test(float(result.statistic), float(result.pvalue), "chi_square")


def benjamini_hochberg(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Which hypotheses survive Benjamini–Hochberg false-discovery control at alpha (statsmodels fdr_bh).

    A NaN p-value is a test that was not run: it is never a discovery and does not count in the family.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, such as 0.05; got {alpha!r}")
    p = _array("p_values", p_values)
    tested = ~np.isnan(p)
    if ((p[tested] < 0) | (p[tested] > 1)).any():
        raise ValueError("p_values must lie between 0 and 1")
    rejected = np.zeros(len(p), dtype=bool)
    if tested.any():
        rejected[tested] = multipletests(p[tested], alpha=alpha, method="fdr_bh")[0]
    return [bool(r) for r in rejected]


# --- survival -----------------------------------------------------------------------------------------


def _survival_inputs(
    durations: Sequence[float], observed: Sequence[float], label: str = ""
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    times = _array(f"durations{label}", durations)
    events = _array(f"observed{label}", observed)
    _same_length(**{f"durations{label}": times, f"observed{label}": events})
    if len(times) == 0:
        raise ValueError(f"durations{label} is empty: there are no cases to follow")
    if np.isnan(times).any() or (times < 0).any():
        raise ValueError(f"durations{label} must all be numbers of zero or more (no missing values)")
    if not np.isin(events, (0, 1)).all():
        raise ValueError(f"observed{label} must be 1 (closed: the event happened) or 0 (open: censored)")
    return times, events


def _frequency_weights(weights: Sequence[float] | None, n: int, label: str = "") -> NDArray[np.float64]:
    """How many cases each row stands for (grouped input); every row is one case when not given."""
    if weights is None:
        return np.ones(n)
    counts = _array(f"weights{label}", weights)
    _same_length(**{f"durations{label}": np.empty(n), f"weights{label}": counts})
    if np.isnan(counts).any() or (counts < 0).any():
        raise ValueError(f"weights{label} must be counts of zero or more: how many cases each row stands for")
    return counts


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
    confidence = _confidence(confidence)
    times, events = _survival_inputs(durations, observed)
    counts = _frequency_weights(weights, len(times))
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
        spread = _z(confidence) * np.sqrt(greenwood) / np.abs(log_survival)
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


def logrank(
    durations_a: Sequence[float],
    observed_a: Sequence[float],
    durations_b: Sequence[float],
    observed_b: Sequence[float],
    *,
    weights_a: Sequence[float] | None = None,
    weights_b: Sequence[float] | None = None,
) -> Test:
    """Log-rank test of two survival curves (statsmodels survdiff), equal to R's survival::survdiff.

    With no events in either group there is nothing to compare: statistic and p-value are NaN.
    With frequency weights (grouped rows), the same statistic is summed over the distinct times by hand,
    since survdiff takes one row per case; it equals survdiff on the rows written out one by one.
    """
    times_a, events_a = _survival_inputs(durations_a, observed_a, "_a")
    times_b, events_b = _survival_inputs(durations_b, observed_b, "_b")
    if weights_a is not None or weights_b is not None:
        return _grouped_logrank(
            times_a,
            events_a,
            _frequency_weights(weights_a, len(times_a), "_a"),
            times_b,
            events_b,
            _frequency_weights(weights_b, len(times_b), "_b"),
        )
    if events_a.sum() + events_b.sum() == 0:
        return Test(NAN, NAN, "logrank")
    group = np.concatenate((np.zeros(len(times_a)), np.ones(len(times_b))))
    try:
        statistic, p_value = survdiff(np.concatenate((times_a, times_b)), np.concatenate((events_a, events_b)), group)
    except np.linalg.LinAlgError:  # zero variance: no time at which both groups are at risk
        return Test(NAN, NAN, "logrank")
    return Test(float(statistic), float(p_value), "logrank")


def _grouped_logrank(
    times_a: NDArray[np.float64],
    events_a: NDArray[np.float64],
    counts_a: NDArray[np.float64],
    times_b: NDArray[np.float64],
    events_b: NDArray[np.float64],
    counts_b: NDArray[np.float64],
) -> Test:
    timeline, position = np.unique(np.concatenate((times_a, times_b)), return_inverse=True)
    in_a = np.arange(len(position)) < len(times_a)
    counts = np.concatenate((counts_a, counts_b))
    events = np.concatenate((events_a, events_b)) * counts
    size = len(timeline)
    deaths = np.bincount(position, weights=events, minlength=size)
    deaths_a = np.bincount(position[in_a], weights=events[in_a], minlength=size)
    leaving = np.bincount(position, weights=counts, minlength=size)
    leaving_a = np.bincount(position[in_a], weights=counts[in_a], minlength=size)
    at_risk = counts.sum() - np.concatenate(([0.0], np.cumsum(leaving)[:-1]))
    at_risk_a = counts_a.sum() - np.concatenate(([0.0], np.cumsum(leaving_a)[:-1]))
    if deaths.sum() == 0:
        return Test(NAN, NAN, "logrank")
    share_a = at_risk_a / at_risk
    expected_a = float((deaths * share_a).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        ties = np.where(at_risk > 1, (at_risk - deaths) / (at_risk - 1), 0.0)
    variance = float((deaths * share_a * (1 - share_a) * ties).sum())
    if variance <= 0:  # no time at which both groups are at risk
        return Test(NAN, NAN, "logrank")
    statistic = (float(deaths_a.sum()) - expected_a) ** 2 / variance
    return Test(statistic, float(sps.chi2.sf(statistic, 1)), "logrank")


# --- statistical process control ----------------------------------------------------------------------

# Constants of the XmR chart, as NHSRplotthedots and Making Data Count.
LIMIT_SIGMAS = 2.66  # process limits at mean ± 2.66 × mean moving range (3σ)
SCREEN_RATIO = 3.267  # moving ranges at or above 3.267 × their mean are dropped when screening
RUN = 7  # points in a shift or a trend


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
    directions = {"increase": 1, "decrease": -1, "neutral": 0}
    if improvement not in directions:
        raise ValueError(f"improvement must be 'increase', 'decrease' or 'neutral'; got {improvement!r}")
    y = _array("values", values)
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

    direction = directions[improvement]
    variation = _variation_icon(labels[-1], direction)
    assurance = _assurance_icon(target, lower, upper, direction)
    return SPC(mean, lower, upper, labels, variation, assurance)


# --- funnel plots -------------------------------------------------------------------------------------


def proportion_funnel_limits(n: float, average: float, confidence: float) -> tuple[float, float]:
    """Control limits around a pooled proportion for denominator n, as PHEindicatormethods' proportion funnels.

    The limits are the proportions whose Wilson score test against ``average`` sits exactly at the
    confidence level, average ± z·√(average(1 − average)/n), clipped to [0, 1]. Hand-written: no library
    has funnel limits.
    """
    confidence = _confidence(confidence)
    n, average = _count("n", n), float(average)
    if math.isnan(n) or math.isnan(average):
        return (NAN, NAN)
    _positive("n", n)
    if not 0 <= average <= 1:
        raise ValueError(f"average must be a proportion between 0 and 1; got {average!r}")
    half_width = _z(confidence) * math.sqrt(average * (1 - average) / n)
    return (max(0.0, average - half_width), min(1.0, average + half_width))


def funnel_significance(x: float, n: float, average: float) -> str:
    """Where x/n falls against the 95% and 99.8% funnel limits around average, as PHEindicatormethods.

    One of ``higher_99.8``, ``higher_95``, ``similar``, ``lower_95``, ``lower_99.8``; a point exactly on a
    limit is within it.
    """
    x, n = _count("x", x), _count("n", n)
    if math.isnan(x) or math.isnan(n) or math.isnan(float(average)):
        raise ValueError("funnel_significance needs numbers for x, n and average; got a missing value")
    _positive("n", n)
    _within("x", x, "n", n)
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
    num, den = _array("numerator", numerator), _array("denominator", denominator)
    _same_length(numerator=num, denominator=den)
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
    confidence = _confidence(confidence)
    n, average, tau2 = _count("n", n), float(average), float(tau2)
    if math.isnan(n) or math.isnan(average) or math.isnan(tau2):
        return (NAN, NAN)
    _positive("n", n)
    if not 0 <= average <= 1:
        raise ValueError(f"average must be a proportion between 0 and 1; got {average!r}")
    if tau2 < 0:
        raise ValueError(f"tau2 must be zero or more; got {tau2!r}")
    centre = math.asin(math.sqrt(average))
    half_width = _z(confidence) * math.sqrt(1 / (4 * n) + tau2)
    lower = math.sin(max(0.0, centre - half_width)) ** 2
    upper = math.sin(min(math.pi / 2, centre + half_width)) ** 2
    return (lower, upper)

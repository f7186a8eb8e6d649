"""Hypothesis tests: two proportions (Fisher or chi-square), false-discovery control, the log-rank test (and
stratified)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats as sps
from statsmodels.duration.survfunc import survdiff
from statsmodels.stats.multitest import multipletests

from parity.stats._checks import (
    NAN,
    flat_array,
    frequency_weights,
    require_positive,
    require_same_length,
    require_within,
    survival_inputs,
    whole_count,
)


@dataclass(frozen=True)
class Test:
    """A hypothesis test: its statistic, p-value and the method that produced them."""

    __test__ = False  # not a pytest test class, although its name starts with "Test"

    statistic: float
    p_value: float
    method: str


def compare_proportions(a: int, n1: int, c: int, n2: int) -> Test:
    """Tests a/n1 against c/n2: scipy's Fisher exact test if any expected count is below 5, else Pearson's chi-square.

    The chi-square has no continuity correction (scipy chi2_contingency(correction=False)). Fisher's
    statistic is the sample odds ratio, as scipy reports it.
    """
    a, n1, c, n2 = whole_count("a", a), whole_count("n1", n1), whole_count("c", c), whole_count("n2", n2)
    require_positive("n1", n1)
    require_positive("n2", n2)
    require_within("a", a, "n1", n1)
    require_within("c", c, "n2", n2)
    table = np.array([[a, n1 - a], [c, n2 - c]])
    if (sps.contingency.expected_freq(table) < 5).any():
        result = sps.fisher_exact(table)
        return Test(float(result.statistic), float(result.pvalue), "fisher_exact")
    result = sps.chi2_contingency(table, correction=False)
    return Test(float(result.statistic), float(result.pvalue), "chi_square")


def risk_ratio_test(a: int, n1: int, c: int, n2: int) -> Test:
    """Wald test of a risk ratio against 1 on the log scale, with the standard error of Katz's interval (scipy's
    ``relative_risk``): z = log(RR) ÷ √(1/a − 1/n1 + 1/c − 1/n2). It matches the interval beside it exactly: p is
    below 0.05 precisely when the 95% Katz interval excludes 1. NaN when a count is 0 (no log ratio to test)."""
    a, n1, c, n2 = whole_count("a", a), whole_count("n1", n1), whole_count("c", c), whole_count("n2", n2)
    require_positive("n1", n1)
    require_positive("n2", n2)
    require_within("a", a, "n1", n1)
    require_within("c", c, "n2", n2)
    if a == 0 or c == 0:
        return Test(NAN, NAN, "katz_wald")
    variance = 1 / a - 1 / n1 + 1 / c - 1 / n2
    if variance <= 0:
        return Test(NAN, NAN, "katz_wald")
    z = float(np.log((a / n1) / (c / n2)) / np.sqrt(variance))
    return Test(z, float(2 * sps.norm.sf(abs(z))), "katz_wald")


def compare_proportions_many(
    a: Sequence[float], n1: Sequence[float], c: Sequence[float], n2: Sequence[float]
) -> tuple[NDArray[np.float64], list[str]]:
    """``compare_proportions`` for many 2×2 tables at once (a transition table has dozens): p-values and methods.

    Pearson's chi-square (no continuity correction) in closed form where every expected count is at least 5 —
    N(ad − bc)² ÷ (row and column totals), as scipy's chi2_contingency gives for a 2×2 table — and scipy's Fisher
    exact test, table by table, elsewhere. Equal to ``compare_proportions`` element by element.
    """
    xa, xn1, xc, xn2 = (flat_array(name, v) for name, v in (("a", a), ("n1", n1), ("c", c), ("n2", n2)))
    require_same_length(a=xa, n1=xn1, c=xc, n2=xn2)
    if (np.isnan(xa) | np.isnan(xn1) | np.isnan(xc) | np.isnan(xn2)).any():
        raise ValueError("compare_proportions_many needs counts, not missing values")
    if (xn1 <= 0).any() or (xn2 <= 0).any() or (xa < 0).any() or (xc < 0).any():
        raise ValueError("n1 and n2 must be greater than zero, a and c zero or more")
    if (xa > xn1).any() or (xc > xn2).any():
        raise ValueError("a cannot be larger than n1, nor c larger than n2")
    b, d = xn1 - xa, xn2 - xc
    total = xn1 + xn2
    events, others = xa + xc, b + d
    expected = np.stack([xn1 * events, xn1 * others, xn2 * events, xn2 * others]) / total
    exact = (expected < 5).any(axis=0)
    p = np.empty(len(xa))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = total * (xa * d - b * xc) ** 2 / (xn1 * xn2 * events * others)
    p[~exact] = sps.chi2.sf(statistic[~exact], 1)
    for i in np.flatnonzero(exact):
        table = np.array([[xa[i], b[i]], [xc[i], d[i]]], dtype=np.int64)
        p[i] = float(sps.fisher_exact(table).pvalue)
    return p, ["fisher_exact" if e else "chi_square" for e in exact]


def benjamini_hochberg(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Which hypotheses survive Benjamini–Hochberg false-discovery control at alpha (statsmodels fdr_bh).

    A NaN p-value is a test that was not run: it is never a discovery and does not count in the family.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, such as 0.05; got {alpha!r}")
    p = flat_array("p_values", p_values)
    tested = ~np.isnan(p)
    if ((p[tested] < 0) | (p[tested] > 1)).any():
        raise ValueError("p_values must lie between 0 and 1")
    rejected = np.zeros(len(p), dtype=bool)
    if tested.any():
        rejected[tested] = multipletests(p[tested], alpha=alpha, method="fdr_bh")[0]
    return [bool(r) for r in rejected]


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
    times_a, events_a = survival_inputs(durations_a, observed_a, "_a")
    times_b, events_b = survival_inputs(durations_b, observed_b, "_b")
    if weights_a is not None or weights_b is not None:
        return _grouped_logrank(
            times_a,
            events_a,
            frequency_weights(weights_a, len(times_a), "_a"),
            times_b,
            events_b,
            frequency_weights(weights_b, len(times_b), "_b"),
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
    observed_less_expected, variance, deaths = _logrank_terms(times_a, events_a, counts_a, times_b, events_b, counts_b)
    if deaths == 0 or variance <= 0:  # no events, or no time at which both groups are at risk
        return Test(NAN, NAN, "logrank")
    statistic = observed_less_expected**2 / variance
    return Test(statistic, float(sps.chi2.sf(statistic, 1)), "logrank")


def _logrank_terms(
    times_a: NDArray[np.float64],
    events_a: NDArray[np.float64],
    counts_a: NDArray[np.float64],
    times_b: NDArray[np.float64],
    events_b: NDArray[np.float64],
    counts_b: NDArray[np.float64],
) -> tuple[float, float, float]:
    """Group a's observed less expected events, their hypergeometric variance (ties as survdiff), and all events,
    summed over the distinct times of grouped rows (frequency weights)."""
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
    with np.errstate(divide="ignore", invalid="ignore"):
        share_a = np.where(at_risk > 0, at_risk_a / at_risk, 0.0)
        ties = np.where(at_risk > 1, (at_risk - deaths) / (at_risk - 1), 0.0)
    expected_a = float((deaths * share_a).sum())
    variance = float((deaths * share_a * (1 - share_a) * ties).sum())
    return float(deaths_a.sum()) - expected_a, variance, float(deaths.sum())


def stratified_logrank(
    durations_a: Sequence[float],
    observed_a: Sequence[float],
    strata_a: Sequence[object],
    durations_b: Sequence[float],
    observed_b: Sequence[float],
    strata_b: Sequence[object],
    *,
    weights_a: Sequence[float] | None = None,
    weights_b: Sequence[float] | None = None,
) -> Test:
    """Stratified log-rank test of two groups' survival: observed less expected events and their variance are
    computed within each stratum (a referral year, say) and summed before the one-degree-of-freedom chi-square,
    as statsmodels ``survdiff(..., strata=...)`` and R's ``survdiff(Surv(t, e) ~ g + strata(s))``; lifelines'
    ``logrank_test`` has no strata, so the two-group test is checked against it stratum by stratum.

    A stratum where only one group has anyone contributes nothing (no comparison inside it). With no events in
    any shared stratum, or no variance, statistic and p-value are NaN. ``weights_*`` are frequency weights
    (grouped rows), giving the test of the rows written out one by one.
    """
    times_a, events_a = survival_inputs(durations_a, observed_a, "_a")
    times_b, events_b = survival_inputs(durations_b, observed_b, "_b")
    counts_a = frequency_weights(weights_a, len(times_a), "_a")
    counts_b = frequency_weights(weights_b, len(times_b), "_b")
    labels_a, labels_b = np.asarray(strata_a, dtype=object), np.asarray(strata_b, dtype=object)
    require_same_length(durations_a=times_a, strata_a=labels_a)
    require_same_length(durations_b=times_b, strata_b=labels_b)
    observed_less_expected = variance = deaths = 0.0
    for stratum in set(labels_a.tolist()) & set(labels_b.tolist()):
        a, b = labels_a == stratum, labels_b == stratum
        terms = _logrank_terms(times_a[a], events_a[a], counts_a[a], times_b[b], events_b[b], counts_b[b])
        observed_less_expected, variance, deaths = (
            total + term for total, term in zip((observed_less_expected, variance, deaths), terms, strict=True)
        )
    if deaths == 0 or variance <= 0:
        return Test(NAN, NAN, "stratified logrank")
    statistic = observed_less_expected**2 / variance
    return Test(statistic, float(sps.chi2.sf(statistic, 1)), "stratified logrank")


def ratio_of_rate_ratios_test(
    a1: float, h1: float, b1: float, k1: float, a2: float, h2: float, b2: float, k2: float
) -> Test:
    """Whether one rate ratio (a1/h1 ÷ b1/k1) differs from another (a2/h2 ÷ b2/k2): the z-test on the difference
    of their logarithms, each with the Poisson variance 1/a + 1/b (Altman and Bland, "Interaction revisited: the
    difference between two estimates", BMJ 2003;326:219); the same as the Wald test of the interaction term in a
    saturated statsmodels Poisson GLM with a log person-time offset. Used to compare an organisation's relative
    likelihood with the rest of the country's. NaN where a count or a person-time is zero (a ratio that is 0 or
    infinite)."""
    values = (a1, h1, b1, k1, a2, h2, b2, k2)
    if any(not v > 0 for v in values):
        return Test(math.nan, math.nan, "z-test of the ratio of two rate ratios")
    log_ratio = math.log((a1 / h1) / (b1 / k1)) - math.log((a2 / h2) / (b2 / k2))
    se = math.sqrt(1 / a1 + 1 / b1 + 1 / a2 + 1 / b2)
    z = log_ratio / se
    return Test(z, float(2 * sps.norm.sf(abs(z))), "z-test of the ratio of two rate ratios")

"""Every interval, ratio, test and control limit Parity shows (design §4).

Pure functions: plain numbers and sequences in, small frozen dataclasses or tuples out. Where scipy or
statsmodels already implement a method it is used as is; the rest is written here and follows the
reference implementation named in each docstring, checked against that reference's own published test
cases in ``tests/test_stats.py``. A ``confidence`` is always a proportion strictly between 0 and 1
(0.95, 0.998), never a percentage.

One module per topic, and every public name is available from the package itself
(``stats.risk_ratio``, ``from parity.stats import Ratio``):

- ``intervals``: one proportion (Wilson) or one rate (exact Poisson below 10 events, Byar from 10);
- ``ratios``: risk ratio (relative likelihood, Katz), standardised ratio, reading against 0.80–1.25 (outside,
  within or inconclusive);
- ``regression``: adjusted rate ratios from a Poisson (or quasi-Poisson) GLM with an offset, interaction tests;
- ``significance``: Fisher or chi-square for two proportions, Benjamini–Hochberg, the log-rank test (and stratified);
- ``survival``: Kaplan–Meier with frequency weights, the actuarial life table, medians and their intervals;
- ``funnels``: funnel limits and significance (proportions; rates against the rest of the country), Spiegelhalter's
  overdispersion;
- ``spc``: XmR charts with Making Data Count's rules and icons.
"""

from parity.stats.funnels import (
    FUNNEL_BANDS,
    Overdispersion,
    RateFunnel,
    adjusted_proportion_funnel_limits,
    funnel_significance,
    overdispersion,
    proportion_funnel_limits,
    rate_funnel,
    rate_funnel_limits,
    rate_funnel_limits_many,
    ratio_funnel_significance,
)
from parity.stats.intervals import (
    BYAR_FROM,
    poisson_count_interval,
    poisson_count_intervals,
    rate_interval,
    wilson_interval,
    wilson_intervals,
)
from parity.stats.ratios import (
    BAND,
    INCONCLUSIVE,
    OUTSIDE,
    WITHIN,
    Judgement,
    Ratio,
    band_judgement,
    indirectly_standardised_ratio,
    ratio_judgement,
    risk_ratio,
    risk_ratios,
)
from parity.stats.regression import (
    POISSON,
    QUASI_POISSON,
    AdjustedRatios,
    NestedTest,
    adjusted_rate_ratios,
    interaction_test,
)
from parity.stats.significance import (
    Test,
    benjamini_hochberg,
    compare_proportions,
    compare_proportions_many,
    logrank,
    ratio_of_rate_ratios_test,
    risk_ratio_test,
    stratified_logrank,
)
from parity.stats.spc import LIMIT_SIGMAS, RUN, SCREEN_RATIO, SPC, Segment, point_types, rebased_xmr, xmr
from parity.stats.survival import Survival, kaplan_meier, life_table

__all__ = [
    "BAND",
    "BYAR_FROM",
    "INCONCLUSIVE",
    "OUTSIDE",
    "POISSON",
    "QUASI_POISSON",
    "WITHIN",
    "AdjustedRatios",
    "NestedTest",
    "adjusted_rate_ratios",
    "band_judgement",
    "interaction_test",
    "FUNNEL_BANDS",
    "LIMIT_SIGMAS",
    "RUN",
    "SCREEN_RATIO",
    "SPC",
    "Segment",
    "Judgement",
    "Overdispersion",
    "RateFunnel",
    "Ratio",
    "Survival",
    "Test",
    "adjusted_proportion_funnel_limits",
    "benjamini_hochberg",
    "compare_proportions",
    "ratio_of_rate_ratios_test",
    "compare_proportions_many",
    "funnel_significance",
    "indirectly_standardised_ratio",
    "kaplan_meier",
    "life_table",
    "logrank",
    "stratified_logrank",
    "overdispersion",
    "poisson_count_interval",
    "poisson_count_intervals",
    "point_types",
    "proportion_funnel_limits",
    "rate_funnel",
    "rate_funnel_limits",
    "rate_funnel_limits_many",
    "rate_interval",
    "ratio_funnel_significance",
    "ratio_judgement",
    "rebased_xmr",
    "risk_ratio",
    "risk_ratio_test",
    "risk_ratios",
    "wilson_interval",
    "wilson_intervals",
    "xmr",
]

"""Measures: named queries turned into the numbers Parity shows, with their intervals, one frozen View per page.

This is the one code path behind the dashboard pages, the summary CLI and the exports: SQL counts and sums,
disclosure control protects the counts, ``parity.stats`` computes every interval, ratio and test, and a View
puts them together and lists the named queries it ran. One module per topic:

- ``common``: the split, drill and reference checks, the drill-down's loop over breakdowns, false discovery
  control, and ``Family``: a view's count tables protected together for its viewer;
- ``referrals``: referral rates and relative likelihoods (the Overview, Concern rates and the summary CLI);
- ``adjusted``: relative likelihoods adjusted for the other characteristics (a Poisson regression), and the
  ethnicity × place-of-qualification interaction test;
- ``outcomes``: stages reached and how cases end (Outcomes);
- ``durations``: Kaplan–Meier times to closure and episode lengths (Durations);
- ``organisations``: funnel plots and standardised ratios (Organisation).

Every public name is available from the package itself (``from parity.measures import outcomes_view``).
"""

from parity.measures.adjusted import (
    ADJUSTED_COLUMNS,
    ADJUSTMENTS,
    Adjustment,
    adjusted_relative_likelihoods,
    checked_adjustments,
    describe_adjustments,
    ethnicity_pmq_interaction,
)
from parity.measures.common import (
    BREAKDOWNS,
    FALSE_DISCOVERY_RATE,
    SMALL_NUMBERS,
    Family,
    QueryLog,
    RunsQueries,
    checked_reference,
    default_reference,
    default_viewer,
    order_groups,
    protect_counts,
)
from parity.measures.durations import (
    DAYS_PER_MONTH,
    DURATION_MEASURES,
    OPEN_AT_MONTHS,
    RISK_TABLE_MONTHS,
    DurationsView,
    durations_view,
)
from parity.measures.organisations import (
    ANOTHER_ORGANISATION,
    MIN_ORGS_FOR_OVERDISPERSION,
    OrganisationView,
    default_funnel_group,
    organisation_view,
)
from parity.measures.outcomes import (
    COMBINED_STAGES,
    DIVERGENCE_MEASURES,
    KEY_OUTCOMES,
    NESTED_PARTS,
    OUTCOME_LABELS,
    OUTCOME_MEASURES,
    STAGE_ORDER,
    OutcomesView,
    outcomes_view,
)
from parity.measures.referrals import (
    SUMMARY_COLUMNS,
    WINDOWS,
    ConcernRatesView,
    OverviewView,
    adjusted_referral_summary,
    concern_rates_view,
    disclosed_referral_summary,
    overview_view,
    rate_row,
    referral_summary,
    summarise_rates,
)

__all__ = [
    "ADJUSTED_COLUMNS",
    "ADJUSTMENTS",
    "Adjustment",
    "adjusted_referral_summary",
    "adjusted_relative_likelihoods",
    "checked_adjustments",
    "describe_adjustments",
    "ethnicity_pmq_interaction",
    "ANOTHER_ORGANISATION",
    "BREAKDOWNS",
    "COMBINED_STAGES",
    "DAYS_PER_MONTH",
    "DIVERGENCE_MEASURES",
    "DURATION_MEASURES",
    "FALSE_DISCOVERY_RATE",
    "KEY_OUTCOMES",
    "NESTED_PARTS",
    "MIN_ORGS_FOR_OVERDISPERSION",
    "OPEN_AT_MONTHS",
    "OUTCOME_LABELS",
    "OUTCOME_MEASURES",
    "RISK_TABLE_MONTHS",
    "SMALL_NUMBERS",
    "STAGE_ORDER",
    "SUMMARY_COLUMNS",
    "WINDOWS",
    "ConcernRatesView",
    "DurationsView",
    "OrganisationView",
    "OutcomesView",
    "OverviewView",
    "QueryLog",
    "RunsQueries",
    "checked_reference",
    "concern_rates_view",
    "default_funnel_group",
    "default_reference",
    "Family",
    "default_viewer",
    "protect_counts",
    "disclosed_referral_summary",
    "durations_view",
    "order_groups",
    "organisation_view",
    "outcomes_view",
    "overview_view",
    "rate_row",
    "referral_summary",
    "summarise_rates",
]
